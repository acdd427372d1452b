package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/store"
)

func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO clients
		(id, secret_hash, name, redirect_uris, grant_types, response_types, auth_method, scope, metadata, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.SecretHash, c.Name, jsonList(c.RedirectURIs), jsonList(c.GrantTypes),
		jsonList(c.ResponseTypes), c.TokenEndpointAuthMethod, c.Scope, c.Metadata, ts(c.CreatedAt))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return store.ErrConflict
	}
	return err
}

const clientColumns = `id, secret_hash, name, redirect_uris, grant_types, response_types, auth_method, scope, metadata, created_at`

func scanClient(scan func(...any) error) (*store.Client, error) {
	var c store.Client
	var redirects, grants, responses string
	var created int64
	if err := scan(&c.ID, &c.SecretHash, &c.Name, &redirects, &grants, &responses,
		&c.TokenEndpointAuthMethod, &c.Scope, &c.Metadata, &created); err != nil {
		return nil, notFound(err)
	}
	c.RedirectURIs, c.GrantTypes, c.ResponseTypes = parseList(redirects), parseList(grants), parseList(responses)
	c.CreatedAt = fromTS(created)
	return &c, nil
}

func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	return scanClient(s.db.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id).Scan)
}

func (s *Store) ListClients(ctx context.Context) ([]*store.Client, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Client
	for rows.Next() {
		c, err := scanClient(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) DeleteClient(ctx context.Context, id string, at time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	if _, err := revokeGrantsWhere(ctx, tx, `client_id = ?`, id, at); err != nil {
		return err
	}
	return tx.Commit()
}
