package authserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/cimd"
	"github.com/tmcp-dev/tmcp/pkg/oauth"
	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/upstream"
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

type lookupEntry struct {
	client  *store.Client
	expires time.Time
}

// clientLookup remembers TaskManager's recent answers.
type clientLookup struct {
	mu      sync.Mutex
	entries map[string]lookupEntry
}

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
	s.lookup.mu.Lock()
	e, ok := s.lookup.entries[id]
	s.lookup.mu.Unlock()
	if ok && now.Before(e.expires) {
		if e.client == nil {
			return nil, store.ErrNotFound
		}
		return e.client, nil
	}
	rc, err := s.upstream.LookupClient(ctx, id)
	switch {
	case errors.Is(err, upstream.ErrNoSuchClient):
		s.remember(id, nil, now.Add(lookupNegativeTTL))
		return nil, store.ErrNotFound
	case err != nil:
		s.log.WarnContext(ctx, "TaskManager client lookup failed", "client_id", id, "err", err)
		return nil, fmt.Errorf("%w: %v", errClientLookup, err)
	}
	c = &store.Client{ID: rc.ClientID, Name: rc.Name, RedirectURIs: rc.RedirectURIs,
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		TokenEndpointAuthMethod: oauth.AuthMethodNone, CreatedAt: now}
	s.log.DebugContext(ctx, "client found at TaskManager", "client_id", id)
	s.remember(id, c, now.Add(lookupTTL))
	return c, nil
}

func (s *Server) remember(id string, c *store.Client, until time.Time) {
	s.lookup.mu.Lock()
	defer s.lookup.mu.Unlock()
	if len(s.lookup.entries) > 10000 {
		s.lookup.entries = map[string]lookupEntry{}
	}
	s.lookup.entries[id] = lookupEntry{client: c, expires: until}
}

// documentClient is a client whose client_id is the URL of its metadata
// document (CIMD): a public client with the redirect URIs it lists.
func (s *Server) documentClient(ctx context.Context, id string) (*store.Client, error) {
	d, err := s.cimd.Resolve(ctx, id)
	if err != nil {
		s.log.InfoContext(ctx, "client metadata document refused", "client_id", id, "err", err)
		return nil, err
	}
	return &store.Client{ID: d.ClientID, Name: d.ClientName, RedirectURIs: d.RedirectURIs, GrantTypes: d.GrantTypes,
		ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: oauth.AuthMethodNone, Scope: d.Scope}, nil
}
