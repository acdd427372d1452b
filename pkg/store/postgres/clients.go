package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/sqlrow"
)

// TEXT[] columns scan straight into and from slices.
func listColumn(p *[]string) any { return p }

func listValue(v []string) any {
	if v == nil {
		return []string{}
	}
	return v
}

func scanClient(row sqlrow.Scanner) (*store.Client, error) {
	c, err := sqlrow.Client(row, listColumn)
	return c, notFound(err)
}

func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	_, err := s.pool.Exec(ctx, sqlrow.Insert("clients", sqlrow.ClientColumns, true), sqlrow.ClientValues(c, listValue)...)
	return conflict(err)
}

func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	return scanClient(s.pool.QueryRow(ctx, `SELECT `+sqlrow.ClientColumns+` FROM clients WHERE id = $1`, id))
}

func (s *Store) UpdateClient(ctx context.Context, c *store.Client) error {
	res, err := s.pool.Exec(ctx, sqlrow.Numbered(sqlrow.UpdateClient), sqlrow.UpdateClientValues(c, listValue)...)
	if err != nil {
		return err
	}
	if res.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *Store) ListClients(ctx context.Context) ([]*store.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlrow.ClientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlrow.Collect(rows, scanClient)
}

func (s *Store) DeleteClient(ctx context.Context, id string, at time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		_, err = revokeGrantsWhere(ctx, tx, `client_id = $1`, id, at)
		return err
	})
}
