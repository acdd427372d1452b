package authserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tmcp-dev/tmcp/internal/cimd"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// errClientLookup means TaskManager could not be asked about a client: the
// client is refused, never accepted by accident.
var errClientLookup = errors.New("could not look the client up at TaskManager")

// Lookup answers are cached briefly: found clients a minute, unknown ids
// ten seconds.
const (
	lookupTTL         = time.Minute
	lookupNegativeTTL = 10 * time.Second
)

// maxLookups bounds how many of TaskManager's answers are kept.
const maxLookups = 10000

// client finds a registered MCP client; with TaskManager client lookup on,
// a client id tmcp does not know is looked up at TaskManager and accepted
// as a public client (PKCE) with the redirect URIs TaskManager lists.
func (s *Server) client(ctx context.Context, id string) (*store.Client, error) {
	if cimd.IsURL(id) {
		return s.documentClient(ctx, id)
	}
	c, err := s.store.GetClient(ctx, id)
	if !errors.Is(err, store.ErrNotFound) || !s.cfg.ClientLookup {
		return c, err
	}
	now := s.now()
	if known, ok := s.lookup.Get(id, now); ok {
		if known == nil { // TaskManager said it does not know the id
			return nil, store.ErrNotFound
		}
		return known, nil
	}
	rc, err := s.upstream.LookupClient(ctx, id)
	switch {
	case errors.Is(err, upstream.ErrNoSuchClient):
		s.lookup.Put(id, nil, now.Add(lookupNegativeTTL), now)
		return nil, store.ErrNotFound
	case err != nil:
		s.log.WarnContext(ctx, "TaskManager client lookup failed", "client_id", id, "err", err)
		return nil, fmt.Errorf("%w: %v", errClientLookup, err)
	case rc.AuthMethod != oauth.AuthMethodNone:
		// A confidential client at TaskManager has a secret tmcp never
		// sees: accepting its id as a public MCP client would let anyone
		// who knows the id act as that application.
		s.log.InfoContext(ctx, "a confidential TaskManager client is not an MCP client", "client_id", id)
		s.lookup.Put(id, nil, now.Add(lookupNegativeTTL), now)
		return nil, store.ErrNotFound
	}
	c = &store.Client{ID: rc.ClientID, Name: rc.Name, RedirectURIs: rc.RedirectURIs,
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		TokenEndpointAuthMethod: oauth.AuthMethodNone, CreatedAt: now}
	s.log.DebugContext(ctx, "client found at TaskManager", "client_id", id)
	s.lookup.Put(id, c, now.Add(lookupTTL), now)
	return c, nil
}

// documentClient is a client whose client_id is the URL of its metadata
// document (CIMD): a public client with the redirect URIs it lists.
func (s *Server) documentClient(ctx context.Context, id string) (*store.Client, error) {
	d, err := s.cimd.Resolve(ctx, id)
	if err != nil {
		s.log.InfoContext(ctx, "client metadata document refused", "client_id", id, "err", err)
		return nil, err
	}
	for _, u := range d.RedirectURIs {
		if err := s.cfg.Registration.redirects().Check(u); err != nil {
			err = fmt.Errorf("%w: %w", cimd.ErrInvalid, redirectRefused(u, err))
			s.log.InfoContext(ctx, "client metadata document refused", "client_id", id, "err", err)
			return nil, err
		}
	}
	return &store.Client{ID: d.ClientID, Name: d.ClientName, RedirectURIs: d.RedirectURIs, GrantTypes: d.GrantTypes,
		ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: oauth.AuthMethodNone, Scope: d.Scope}, nil
}
