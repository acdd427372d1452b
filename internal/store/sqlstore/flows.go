package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/sqlrow"
)

func (s *Store) SavePending(ctx context.Context, p *store.Pending) error {
	_, err := s.w.ExecContext(ctx, sqlrow.Insert("pendings", sqlrow.PendingColumns, s.d.Numbered), sqlrow.PendingValues(p)...)
	return s.conflict(err)
}

func (s *Store) TakePending(ctx context.Context, stateHash, browserHash string) (*store.Pending, error) {
	// DELETE … RETURNING makes find-and-consume one statement: two
	// callbacks with the same state cannot both get it.
	p, err := sqlrow.Pending(s.w.QueryRowContext(ctx, s.q(`DELETE FROM pendings WHERE state_hash = ? AND browser_hash = ?
		RETURNING `+sqlrow.PendingColumns), stateHash, browserHash))
	if errors.Is(err, sql.ErrNoRows) {
		var one int
		if s.db.QueryRowContext(ctx, s.q(`SELECT 1 FROM pendings WHERE state_hash = ?`), stateHash).Scan(&one) == nil {
			return nil, store.ErrNotYours
		}
	}
	return p, notFound(err)
}

// CreateGrant also marks the grant's client used, for the idle sweep.
func (s *Store) CreateGrant(ctx context.Context, g *store.Grant) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlrow.Insert("grants", sqlrow.GrantColumns, s.d.Numbered), sqlrow.GrantValues(g)...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE clients SET used_at = ? WHERE id = ?`), ts(g.CreatedAt), g.ClientID)
		return err
	})
}

func (s *Store) GetGrant(ctx context.Context, id string) (*store.Grant, error) {
	g, err := sqlrow.Grant(s.db.QueryRowContext(ctx, s.q(`SELECT `+sqlrow.GrantColumns+` FROM grants WHERE id = ?`), id))
	return g, notFound(err)
}

func (s *Store) NewestGrant(ctx context.Context) (*store.Grant, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM grants WHERE length(upstream) > 0 ORDER BY created_at DESC LIMIT 1`).Scan(&id)
	if err != nil {
		return nil, notFound(err)
	}
	return s.GetGrant(ctx, id)
}

func (s *Store) UpdateUpstream(ctx context.Context, grantID string, sealed []byte, expiresAt time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE grants SET upstream = ?, upstream_expires_at = ? WHERE id = ?`),
		sealed, ts(expiresAt), grantID)
	if err != nil {
		return err
	}
	return affected(res, store.ErrNotFound)
}

func (s *Store) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.revokeGrantTx(ctx, tx, grantID, at) })
}

// revokeGrantTx revokes a grant with all its tokens and unused codes.
func (s *Store) revokeGrantTx(ctx context.Context, tx querier, grantID string, at time.Time) error {
	var one int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM grants WHERE id = ?`+s.d.LockRow), grantID).Scan(&one); err != nil {
		return notFound(err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at = 0`), ts(at), grantID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at = 0`), ts(at), grantID); err != nil {
		return err
	}
	// An unused code of a revoked grant must not be redeemable either.
	_, err := tx.ExecContext(ctx, s.q(`UPDATE codes SET used_at = ? WHERE grant_id = ? AND used_at = 0`), ts(at), grantID)
	return err
}

func (s *Store) RevokeGrantsOf(ctx context.Context, subject, clientID string, at time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if subject != "" {
			n, err = s.revokeGrantsWhere(ctx, tx, `subject = ?`, subject, at)
		} else {
			n, err = s.revokeGrantsWhere(ctx, tx, `client_id = ?`, clientID, at)
		}
		return err
	})
	return n, err
}

// revokeGrantsWhere revokes every active grant matching cond (one ?).
func (s *Store) revokeGrantsWhere(ctx context.Context, tx querier, cond string, arg any, at time.Time) (int, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT id FROM grants WHERE revoked_at = 0 AND `+cond), arg)
	if err != nil {
		return 0, err
	}
	ids, err := sqlrow.Collect(rows, func(row sqlrow.Scanner) (id string, err error) { return id, row.Scan(&id) })
	rows.Close()
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := s.revokeGrantTx(ctx, tx, id, at); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

func (s *Store) SaveCode(ctx context.Context, c *store.Code) error {
	_, err := s.w.ExecContext(ctx, sqlrow.Insert("codes", sqlrow.CodeColumns, s.d.Numbered), sqlrow.CodeValues(c)...)
	return err
}

func (s *Store) ConsumeCode(ctx context.Context, hash string, at time.Time) (*store.Code, error) {
	// The conditional UPDATE is the atomic step: of two concurrent
	// redemptions exactly one sees a row.
	c, err := sqlrow.Code(s.w.QueryRowContext(ctx, s.q(`UPDATE codes SET used_at = ? WHERE hash = ? AND used_at = 0
		RETURNING `+sqlrow.CodeColumns), ts(at), hash))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	c, err = sqlrow.Code(s.db.QueryRowContext(ctx, s.q(`SELECT `+sqlrow.CodeColumns+` FROM codes WHERE hash = ?`), hash))
	if err != nil {
		return nil, notFound(err)
	}
	return c, store.ErrAlreadyUsed
}

func (s *Store) SaveKey(ctx context.Context, k *store.SigningKey) error {
	_, err := s.w.ExecContext(ctx, sqlrow.Insert("signing_keys", sqlrow.KeyColumns, s.d.Numbered), sqlrow.KeyValues(k)...)
	return s.conflict(err)
}

func (s *Store) ListKeys(ctx context.Context) ([]*store.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlrow.KeyColumns+` FROM signing_keys ORDER BY created_at DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlrow.Collect(rows, sqlrow.Key)
}

func (s *Store) RetireKeys(ctx context.Context, at time.Time) error {
	_, err := s.w.ExecContext(ctx, s.q(`UPDATE signing_keys SET retired_at = ? WHERE retired_at = 0`), ts(at))
	return err
}
