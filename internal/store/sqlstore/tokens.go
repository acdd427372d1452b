package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/sqlrow"
)

func (s *Store) insertTokens(ctx context.Context, tx querier, tokens []*store.Token) error {
	insert := sqlrow.Insert("tokens", sqlrow.TokenColumns, s.d.Numbered)
	for _, t := range tokens {
		if _, err := tx.ExecContext(ctx, insert, sqlrow.TokenValues(t)...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) SaveTokens(ctx context.Context, tokens ...*store.Token) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.insertTokens(ctx, tx, tokens) })
}

func (s *Store) getToken(ctx context.Context, q querier, hash, lock string) (*store.Token, error) {
	t, err := sqlrow.Token(q.QueryRowContext(ctx, s.q(`SELECT `+sqlrow.TokenColumns+` FROM tokens WHERE hash = ?`+lock), hash))
	return t, notFound(err)
}

func (s *Store) GetToken(ctx context.Context, hash string) (*store.Token, error) {
	return s.getToken(ctx, s.db, hash, "")
}

func (s *Store) RevokeToken(ctx context.Context, hash string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at = 0`), ts(at), hash)
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

// RotateRefresh holds the old token's row (or, on SQLite, the database)
// from the read to the commit, so of two instances rotating the same
// token at once, the second waits and then sees it used.
func (s *Store) RotateRefresh(ctx context.Context, oldHash string, at time.Time, decide store.RotationPolicy, issue []*store.Token, answer store.Answer) error {
	var reused bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getToken(ctx, tx, oldHash, s.d.LockRow)
		if err != nil {
			return err
		}
		var grantRevoked int64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT revoked_at FROM grants WHERE id = ?`), old.GrantID).Scan(&grantRevoked); err != nil {
			return notFound(err)
		}
		if err := sqlrow.Rotatable(old, grantRevoked); err != nil {
			return err
		}
		switch decide(old) {
		case store.RotateFirst:
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE tokens SET used_at = ?, successor = ?, answer = ?, answer_until = ? WHERE hash = ?`),
				ts(at), sqlrow.Successor(issue), answer.Sealed, ts(answer.Until), oldHash); err != nil {
				return err
			}
			// The client holds this token, so it got its predecessor's answer.
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE tokens SET answer = NULL, answer_until = 0 WHERE successor = ? AND answer_until != 0`),
				old.Issuance); err != nil {
				return err
			}
			return s.insertTokens(ctx, tx, issue)
		case store.RotateRetry:
			return nil
		default:
			reused = true
			return s.revokeGrantTx(ctx, tx, old.GrantID, at)
		}
	})
	if err == nil && reused {
		return store.ErrReused
	}
	return err
}

func (s *Store) Sweep(ctx context.Context, now time.Time, keep store.Retention) (int64, error) {
	n := ts(now)
	// Used codes are kept an hour past expiry so that a late replay is
	// still recognised and revokes its family.
	hour := ts(now.Add(-time.Hour))
	type stmt struct {
		sql  string
		args []any
	}
	stmts := []stmt{
		{`DELETE FROM pendings WHERE expires_at < ?`, []any{n}},
		{`DELETE FROM codes WHERE expires_at < ?`, []any{hour}},
		{`DELETE FROM tokens WHERE expires_at < ?`, []any{n}},
		{`UPDATE tokens SET answer = NULL, answer_until = 0 WHERE answer_until != 0 AND answer_until < ?`, []any{n}},
	}
	if keep.UsedRefresh > 0 {
		// A rotated token past its grace answers nothing any more; its
		// replay is still told apart by the family it names (see
		// authserver's refresh), so the row can go.
		stmts = append(stmts, stmt{`DELETE FROM tokens WHERE used_at != 0 AND used_at < ? AND answer_until < ?`,
			[]any{ts(now.Add(-keep.UsedRefresh)), n}})
	}
	stmts = append(stmts, stmt{`DELETE FROM grants WHERE created_at < ?
			AND NOT EXISTS (SELECT 1 FROM tokens WHERE tokens.grant_id = grants.id)
			AND NOT EXISTS (SELECT 1 FROM codes WHERE codes.grant_id = grants.id)`, []any{hour}})
	if keep.ClientIdle > 0 {
		idle := ts(now.Add(-keep.ClientIdle))
		stmts = append(stmts, stmt{`DELETE FROM clients WHERE created_at < ? AND used_at < ?
			AND NOT EXISTS (SELECT 1 FROM grants WHERE grants.client_id = clients.id)`, []any{idle, idle}})
	}
	var total int64
	for _, q := range stmts {
		res, err := s.w.ExecContext(ctx, s.q(q.sql), q.args...)
		if err != nil {
			return total, err
		}
		c, _ := res.RowsAffected()
		total += c
	}
	if total > 0 && s.d.AfterSweep != nil {
		if err := s.d.AfterSweep(ctx, s.w); err != nil {
			return total, err
		}
	}
	return total, nil
}

func (s *Store) GetTokenGrant(ctx context.Context, hash string) (*store.Token, *store.Grant, error) {
	t, g, err := sqlrow.TokenGrant(s.tokenGrant.QueryRowContext(ctx, hash))
	return t, g, notFound(err)
}
