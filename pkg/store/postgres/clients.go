package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmcp-dev/tmcp/pkg/store"
)

func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO clients
		(id, secret_hash, name, redirect_uris, grant_types, response_types, auth_method, scope, metadata, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.SecretHash, c.Name, orEmpty(c.RedirectURIs), orEmpty(c.GrantTypes), orEmpty(c.ResponseTypes),
		c.TokenEndpointAuthMethod, c.Scope, c.Metadata, ts(c.CreatedAt))
	if uniqueViolation(err) {
		return store.ErrConflict
	}
	return err
}

const clientColumns = `id, secret_hash, name, redirect_uris, grant_types, response_types, auth_method, scope, metadata, created_at`

func scanClient(row pgx.Row) (*store.Client, error) {
	var c store.Client
	var created int64
	if err := row.Scan(&c.ID, &c.SecretHash, &c.Name, &c.RedirectURIs, &c.GrantTypes, &c.ResponseTypes,
		&c.TokenEndpointAuthMethod, &c.Scope, &c.Metadata, &created); err != nil {
		return nil, notFound(err)
	}
	c.CreatedAt = fromTS(created)
	return &c, nil
}

func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	return scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
}

func (s *Store) ListClients(ctx context.Context) ([]*store.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
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
