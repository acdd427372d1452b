package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/sqlrow"
)

func scanToken(row sqlrow.Scanner) (*store.Token, error) {
	t, err := sqlrow.Token(row)
	return t, notFound(err)
}

func insertTokens(ctx context.Context, tx pgx.Tx, tokens []*store.Token) error {
	insert := sqlrow.Insert("tokens", sqlrow.TokenColumns, true)
	for _, t := range tokens {
		if _, err := tx.Exec(ctx, insert, sqlrow.TokenValues(t)...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) SaveTokens(ctx context.Context, tokens ...*store.Token) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return insertTokens(ctx, tx, tokens) })
}

func (s *Store) GetToken(ctx context.Context, hash string) (*store.Token, error) {
	return scanToken(s.pool.QueryRow(ctx, `SELECT `+sqlrow.TokenColumns+` FROM tokens WHERE hash = $1`, hash))
}

func (s *Store) RevokeToken(ctx context.Context, hash string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at = 0`, ts(at), hash)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		if _, err := s.GetToken(ctx, hash); err != nil {
			return err
		}
	}
	return nil
}

// RotateRefresh locks the old token's row (FOR UPDATE), so of two
// instances rotating the same token at once, the second waits and then
// sees it used.
func (s *Store) RotateRefresh(ctx context.Context, oldHash string, at time.Time, decide store.RotationPolicy, issue []*store.Token, answer store.Answer) error {
	var reused bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		old, err := scanToken(tx.QueryRow(ctx, `SELECT `+sqlrow.TokenColumns+` FROM tokens WHERE hash = $1 FOR UPDATE`, oldHash))
		if err != nil {
			return err
		}
		var grantRevoked int64
		if err := tx.QueryRow(ctx, `SELECT revoked_at FROM grants WHERE id = $1`, old.GrantID).Scan(&grantRevoked); err != nil {
			return notFound(err)
		}
		if err := sqlrow.Rotatable(old, grantRevoked); err != nil {
			return err
		}
		switch action := decide(old); action {
		case store.RotateFirst:
			if _, err = tx.Exec(ctx, `UPDATE tokens SET used_at = $1, successor = $2, answer = $3, answer_until = $4 WHERE hash = $5`,
				ts(at), sqlrow.Successor(issue), answer.Sealed, ts(answer.Until), oldHash); err != nil {
				return err
			}
			// The client holds this token, so it got its predecessor's answer.
			_, err = tx.Exec(ctx, `UPDATE tokens SET answer = NULL, answer_until = 0 WHERE successor = $1 AND answer_until != 0`, old.Issuance)
		case store.RotateRetry:
			return nil
		default:
			reused = true
			return revokeGrantTx(ctx, tx, old.GrantID, at)
		}
		if err != nil {
			return err
		}
		return insertTokens(ctx, tx, issue)
	})
	if err == nil && reused {
		return store.ErrReused
	}
	return err
}

func (s *Store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	n, keep := ts(now), ts(now.Add(-time.Hour))
	var total int64
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM pendings WHERE expires_at < $1`, n},
		{`DELETE FROM codes WHERE expires_at < $1`, keep},
		{`DELETE FROM tokens WHERE expires_at < $1`, n},
		{`UPDATE tokens SET answer = NULL, answer_until = 0 WHERE answer_until != 0 AND answer_until < $1`, n},
		{`DELETE FROM grants g WHERE created_at < $1
			AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.grant_id = g.id)
			AND NOT EXISTS (SELECT 1 FROM codes c WHERE c.grant_id = g.id)`, keep},
	} {
		tag, err := s.pool.Exec(ctx, q.sql, q.arg)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
	}
	return total, nil
}

func (s *Store) GetTokenGrant(ctx context.Context, hash string) (*store.Token, *store.Grant, error) {
	t, g, err := sqlrow.TokenGrant(s.pool.QueryRow(ctx, sqlrow.TokenGrantQuery(`t.hash = $1`), hash))
	return t, g, notFound(err)
}
