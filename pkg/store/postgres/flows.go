package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/sqlrow"
)

func (s *Store) SavePending(ctx context.Context, p *store.Pending) error {
	_, err := s.pool.Exec(ctx, sqlrow.Insert("pendings", sqlrow.PendingColumns, true), sqlrow.PendingValues(p)...)
	return conflict(err)
}

func (s *Store) TakePending(ctx context.Context, stateHash, browserHash string) (*store.Pending, error) {
	p, err := sqlrow.Pending(s.pool.QueryRow(ctx, `DELETE FROM pendings WHERE state_hash = $1 AND browser_hash = $2
		RETURNING `+sqlrow.PendingColumns, stateHash, browserHash))
	if errors.Is(err, pgx.ErrNoRows) {
		var one int
		if s.pool.QueryRow(ctx, `SELECT 1 FROM pendings WHERE state_hash = $1`, stateHash).Scan(&one) == nil {
			return nil, store.ErrNotYours
		}
	}
	return p, notFound(err)
}

func (s *Store) CreateGrant(ctx context.Context, g *store.Grant) error {
	_, err := s.pool.Exec(ctx, sqlrow.Insert("grants", sqlrow.GrantColumns, true), sqlrow.GrantValues(g)...)
	return err
}

func (s *Store) GetGrant(ctx context.Context, id string) (*store.Grant, error) {
	g, err := sqlrow.Grant(s.pool.QueryRow(ctx, `SELECT `+sqlrow.GrantColumns+` FROM grants WHERE id = $1`, id))
	return g, notFound(err)
}

func (s *Store) NewestGrant(ctx context.Context) (*store.Grant, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT id FROM grants WHERE octet_length(upstream) > 0 ORDER BY created_at DESC LIMIT 1`).Scan(&id)
	if err != nil {
		return nil, notFound(err)
	}
	return s.GetGrant(ctx, id)
}

func (s *Store) UpdateUpstream(ctx context.Context, grantID string, sealed []byte, expiresAt time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE grants SET upstream = $1, upstream_expires_at = $2 WHERE id = $3`,
		sealed, ts(expiresAt), grantID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *Store) RevokeGrant(ctx context.Context, grantID string, at time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return revokeGrantTx(ctx, tx, grantID, at) })
}

func revokeGrantTx(ctx context.Context, tx pgx.Tx, grantID string, at time.Time) error {
	var one int
	if err := tx.QueryRow(ctx, `SELECT 1 FROM grants WHERE id = $1 FOR UPDATE`, grantID).Scan(&one); err != nil {
		return notFound(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, ts(at), grantID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at = 0`, ts(at), grantID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE codes SET used_at = $1 WHERE grant_id = $2 AND used_at = 0`, ts(at), grantID)
	return err
}

func (s *Store) SaveCode(ctx context.Context, c *store.Code) error {
	_, err := s.pool.Exec(ctx, sqlrow.Insert("codes", sqlrow.CodeColumns, true), sqlrow.CodeValues(c)...)
	return err
}

func (s *Store) ConsumeCode(ctx context.Context, hash string, at time.Time) (*store.Code, error) {
	c, err := sqlrow.Code(s.pool.QueryRow(ctx, `UPDATE codes SET used_at = $1 WHERE hash = $2 AND used_at = 0
		RETURNING `+sqlrow.CodeColumns, ts(at), hash))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	c, err = sqlrow.Code(s.pool.QueryRow(ctx, `SELECT `+sqlrow.CodeColumns+` FROM codes WHERE hash = $1`, hash))
	if err != nil {
		return nil, notFound(err)
	}
	return c, store.ErrAlreadyUsed
}

func (s *Store) SaveKey(ctx context.Context, k *store.SigningKey) error {
	_, err := s.pool.Exec(ctx, sqlrow.Insert("signing_keys", sqlrow.KeyColumns, true), sqlrow.KeyValues(k)...)
	return conflict(err)
}

func (s *Store) ListKeys(ctx context.Context) ([]*store.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlrow.KeyColumns+` FROM signing_keys ORDER BY created_at DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlrow.Collect(rows, sqlrow.Key)
}

func (s *Store) RetireKeys(ctx context.Context, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at = 0`, ts(at))
	return err
}

func (s *Store) RevokeGrantsOf(ctx context.Context, subject, clientID string, at time.Time) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if subject != "" {
			n, err = revokeGrantsWhere(ctx, tx, `subject = $1`, subject, at)
		} else {
			n, err = revokeGrantsWhere(ctx, tx, `client_id = $1`, clientID, at)
		}
		return err
	})
	return n, err
}

// revokeGrantsWhere revokes every active grant matching cond (one $1).
func revokeGrantsWhere(ctx context.Context, tx pgx.Tx, cond string, arg any, at time.Time) (int, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM grants WHERE revoked_at = 0 AND `+cond, arg)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := revokeGrantTx(ctx, tx, id, at); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
