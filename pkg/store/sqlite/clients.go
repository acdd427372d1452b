package sqlite

import (
	"context"
	"strings"

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

func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	var c store.Client
	var redirects, grants, responses string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT id, secret_hash, name, redirect_uris, grant_types,
		response_types, auth_method, scope, metadata, created_at FROM clients WHERE id = ?`, id).
		Scan(&c.ID, &c.SecretHash, &c.Name, &redirects, &grants, &responses,
			&c.TokenEndpointAuthMethod, &c.Scope, &c.Metadata, &created)
	if err != nil {
		return nil, notFound(err)
	}
	c.RedirectURIs, c.GrantTypes, c.ResponseTypes = parseList(redirects), parseList(grants), parseList(responses)
	c.CreatedAt = fromTS(created)
	return &c, nil
}
