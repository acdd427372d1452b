package postgres

import (
	"context"

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

func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	var c store.Client
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT id, secret_hash, name, redirect_uris, grant_types, response_types,
		auth_method, scope, metadata, created_at FROM clients WHERE id = $1`, id).
		Scan(&c.ID, &c.SecretHash, &c.Name, &c.RedirectURIs, &c.GrantTypes, &c.ResponseTypes,
			&c.TokenEndpointAuthMethod, &c.Scope, &c.Metadata, &created)
	if err != nil {
		return nil, notFound(err)
	}
	c.CreatedAt = fromTS(created)
	return &c, nil
}
