package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/sqlrow"
)

func (s *Store) scanClient(row sqlrow.Scanner) (*store.Client, error) {
	c, err := sqlrow.Client(row, s.d.ListColumn)
	return c, notFound(err)
}

func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	_, err := s.w.ExecContext(ctx, sqlrow.Insert("clients", sqlrow.ClientColumns, s.d.Numbered), sqlrow.ClientValues(c, s.d.ListValue)...)
	return s.conflict(err)
}

func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	return s.scanClient(s.db.QueryRowContext(ctx, s.q(`SELECT `+sqlrow.ClientColumns+` FROM clients WHERE id = ?`), id))
}

func (s *Store) UpdateClient(ctx context.Context, c *store.Client) error {
	res, err := s.w.ExecContext(ctx, s.q(sqlrow.UpdateClient), sqlrow.UpdateClientValues(c, s.d.ListValue)...)
	if err != nil {
		return err
	}
	return affected(res, store.ErrNotFound)
}

func (s *Store) ListClients(ctx context.Context) ([]*store.Client, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlrow.ClientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlrow.Collect(rows, s.scanClient)
}

func (s *Store) DeleteClient(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM clients WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if err := affected(res, store.ErrNotFound); err != nil {
			return err
		}
		_, err = s.revokeGrantsWhere(ctx, tx, `client_id = ?`, id, at)
		return err
	})
}

func (s *Store) GetUpstreamClient(ctx context.Context) ([]byte, error) {
	var sealed []byte
	return sealed, notFound(s.db.QueryRowContext(ctx, sqlrow.GetUpstreamClient).Scan(&sealed))
}

func (s *Store) ClaimUpstreamRegistration(ctx context.Context, holder string, now, until time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.q(sqlrow.ClaimUpstreamClient), holder, ts(until), ts(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Store) SaveUpstreamClient(ctx context.Context, holder string, sealed []byte) error {
	res, err := s.w.ExecContext(ctx, s.q(sqlrow.SaveUpstreamClient), sealed, holder)
	if err != nil {
		return err
	}
	return affected(res, store.ErrNotYours)
}
