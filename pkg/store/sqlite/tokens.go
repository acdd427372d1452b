package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/sqlrow"
)

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) SaveTokens(ctx context.Context, tokens ...*store.Token) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertTokens(ctx, tx, tokens); err != nil {
		return err
	}
	return tx.Commit()
}

func insertTokens(ctx context.Context, q querier, tokens []*store.Token) error {
	insert := sqlrow.Insert("tokens", sqlrow.TokenColumns, false)
	for _, t := range tokens {
		if _, err := q.ExecContext(ctx, insert, sqlrow.TokenValues(t)...); err != nil {
			return err
		}
	}
	return nil
}

func getToken(ctx context.Context, q querier, hash string) (*store.Token, error) {
	t, err := sqlrow.Token(q.QueryRowContext(ctx, `SELECT `+sqlrow.TokenColumns+` FROM tokens WHERE hash = ?`, hash))
	return t, notFound(err)
}

func (s *Store) GetToken(ctx context.Context, hash string) (*store.Token, error) {
	return getToken(ctx, s.db, hash)
}

func (s *Store) RevokeToken(ctx context.Context, hash string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at = 0`, ts(at), hash)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetToken(ctx, hash); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) RotateRefresh(ctx context.Context, oldHash string, at time.Time, decide store.RotationPolicy, issue []*store.Token, answer store.Answer) error {
	tx, err := s.db.BeginTx(ctx, nil) // IMMEDIATE: the write lock is held from here
	if err != nil {
		return err
	}
	defer tx.Rollback()
	old, err := getToken(ctx, tx, oldHash)
	if err != nil {
		return err
	}
	var grantRevoked int64
	if err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM grants WHERE id = ?`, old.GrantID).Scan(&grantRevoked); err != nil {
		return notFound(err)
	}
	if err := sqlrow.Rotatable(old, grantRevoked); err != nil {
		return err
	}
	switch decide(old) {
	case store.RotateFirst:
		if _, err = tx.ExecContext(ctx, `UPDATE tokens SET used_at = ?, successor = ?, answer = ?, answer_until = ? WHERE hash = ?`,
			ts(at), sqlrow.Successor(issue), answer.Sealed, ts(answer.Until), oldHash); err != nil {
			return err
		}
		// The client holds this token, so it got its predecessor's answer.
		_, err = tx.ExecContext(ctx, `UPDATE tokens SET answer = NULL, answer_until = 0 WHERE successor = ? AND answer_until != 0`, old.Issuance)
	case store.RotateRetry:
		return nil
	default:
		if err := revokeGrantTx(ctx, tx, old.GrantID, at); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		return store.ErrReused
	}
	if err != nil {
		return err
	}
	if err := insertTokens(ctx, tx, issue); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	n := ts(now)
	// Used codes are kept an hour past expiry so that a late replay is
	// still recognised and revokes its family.
	keep := ts(now.Add(-time.Hour))
	var total int64
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM pendings WHERE expires_at < ?`, []any{n}},
		{`DELETE FROM codes WHERE expires_at < ?`, []any{keep}},
		{`DELETE FROM tokens WHERE expires_at < ?`, []any{n}},
		{`UPDATE tokens SET answer = NULL, answer_until = 0 WHERE answer_until != 0 AND answer_until < ?`, []any{n}},
		{`DELETE FROM grants WHERE created_at < ?
			AND NOT EXISTS (SELECT 1 FROM tokens WHERE tokens.grant_id = grants.id)
			AND NOT EXISTS (SELECT 1 FROM codes WHERE codes.grant_id = grants.id)`, []any{keep}},
	} {
		res, err := s.db.ExecContext(ctx, q.sql, q.args...)
		if err != nil {
			return total, err
		}
		c, _ := res.RowsAffected()
		total += c
	}
	if total > 0 {
		if err := s.shrink(ctx); err != nil {
			return total, err
		}
	}
	return total, nil
}

func (s *Store) GetTokenGrant(ctx context.Context, hash string) (*store.Token, *store.Grant, error) {
	t, g, err := sqlrow.TokenGrant(s.tokenGrant.QueryRowContext(ctx, hash))
	return t, g, notFound(err)
}
