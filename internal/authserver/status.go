package authserver

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/status"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// clientCheckTTL keeps a status request from hitting the provider each
// time.
const clientCheckTTL = 30 * time.Second

// statusState is what /status remembers between requests. The client
// check runs under its own lock, so a callback noting a failed sign-in
// never waits for a request to the provider.
type statusState struct {
	checking    sync.Mutex // guards clientCheck and one check at a time
	clientCheck status.Check

	mu          sync.Mutex
	lastFailure *status.Failure
}

// serveStatus answers GET /status: the settings this server runs with and
// whether the provider accepts its client now.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	if !status.Local(r) {
		if _, oerr := s.authenticateResourceServer(r); oerr != nil {
			s.writeError(w, r, oerr)
			return
		}
	}
	var st status.Auth
	st.Server, st.Version, st.Issuer, st.TokenFormat = "auth", s.cfg.Version, s.cfg.Issuer, s.cfg.TokenFormat
	st.Upstream.BaseURL, st.Upstream.Issuer, st.Upstream.ClientID = s.cfg.Upstream.BaseURL, s.cfg.Upstream.Issuer, s.cfg.Upstream.ClientID
	st.Upstream.Client = s.upstreamClientCheck(r.Context())
	st.DefaultScope, st.ScopesSupported = s.cfg.DefaultScope, s.cfg.ScopesSupported
	for _, rs := range s.cfg.Resources {
		st.Resources = append(st.Resources, status.Resource{Resource: rs.Resource, IntrospectionClientID: rs.ClientID})
	}
	s.status.mu.Lock()
	st.LastSignInFailure = s.status.lastFailure
	s.status.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	oauth.WriteJSONBody(w, http.StatusOK, st)
}

func (s *Server) upstreamClientCheck(ctx context.Context) status.Check {
	s.status.checking.Lock()
	defer s.status.checking.Unlock()
	c := s.status.clientCheck
	if !c.At.IsZero() && s.now().Sub(c.At) < clientCheckTTL {
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c = status.Check{At: s.now(), OK: true, Detail: "client " + s.cfg.Upstream.ClientID + " authenticates (a code that cannot exist got refused as a code)"}
	if err := s.upstream.CheckClient(ctx); err != nil {
		c.OK, c.Detail = false, err.Error()
		if errors.Is(err, upstream.ErrClientRefused) {
			c.Refused, c.Detail = true, s.upstreamName()+" refuses client "+s.cfg.Upstream.ClientID+" (invalid_client)"
		}
	}
	s.status.clientCheck = c
	return c
}

// noteSignInFailure keeps the newest failed sign-in for /status.
func (s *Server) noteSignInFailure(clientID, code, detail string) {
	s.status.mu.Lock()
	defer s.status.mu.Unlock()
	s.status.lastFailure = &status.Failure{At: s.now(), ClientID: clientID, Error: code, Detail: detail}
}
