package resource

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/status"
)

// statusFailedAuth is how many failed credential checks a minute one
// address gets at /status before it is refused (the auth server's
// default --failed-auth-limit).
const statusFailedAuth = 10

// statusGuard throttles failed credential checks at /status by address.
// The right credentials always pass, so others' failures never lock out
// doctor.
type statusGuard struct {
	once   sync.Once
	failed *httpx.Limiter
}

func (g *statusGuard) limiter() *httpx.Limiter {
	g.once.Do(func() { g.failed = httpx.NewLimiter(statusFailedAuth, time.Minute, statusFailedAuth) })
	return g.failed
}

// serveStatus answers GET /status: what this MCP server runs with, and
// whether the auth server accepts its introspection credentials now.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	if !status.Local(r) {
		id, secret, ok := r.BasicAuth()
		if !ok || !secrets.Equal(id, s.cfg.ClientID) || !secrets.Equal(secret, s.cfg.ClientSecret) {
			failed, addr := s.statusGuard.limiter(), httpx.ClientIP(r)
			if blocked, wait := failed.Blocked(addr); blocked {
				e := oauth.NewError(oauth.CodeTemporarilyUnavailable, "too many failed authentications from this address; retry after "+httpx.RetryAfter(wait)+" s")
				e.Status, e.RetryAfter = http.StatusTooManyRequests, httpx.RetryAfter(wait)
				oauth.WriteJSON(w, r, e)
				return
			}
			failed.Allow(addr)
			w.Header().Set("WWW-Authenticate", `Basic realm="tmcp status"`)
			oauth.WriteJSONBody(w, http.StatusUnauthorized, oauth.InvalidClient("status needs this server's introspection credentials, or a request from this machine"))
			return
		}
	}
	st := status.MCP{Server: "resource", Version: s.cfg.Version, Resource: s.cfg.Resource, AuthServer: s.cfg.AuthServerURL,
		IntrospectionClientID: s.cfg.ClientID, Serves: s.serves()}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	st.Introspection = status.Check{OK: true, At: s.now(), Detail: "the auth server accepts client " + s.cfg.ClientID}
	if err := s.auth.ready(ctx); err != nil {
		st.Introspection.OK, st.Introspection.Detail = false, err.Error()
		st.Introspection.Refused = errors.Is(err, errCredentialsRefused)
	}
	if s.backend != nil {
		st.Backend = &status.Check{OK: true, At: s.now(), Detail: s.serves() + " answers"}
		if err := s.backend.Ready(ctx); err != nil {
			st.Backend.OK, st.Backend.Detail = false, err.Error()
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	oauth.WriteJSONBody(w, http.StatusOK, st)
}

// serves says what /mcp answers with.
func (s *Server) serves() string {
	switch {
	case s.cfg.Proxy != "":
		return "the MCP server at " + oauth.Redact(s.cfg.Proxy)
	case len(s.cfg.Command) > 0:
		return "the stdio MCP server " + strings.Join(s.cfg.Command, " ")
	}
	return "the built-in TaskManager tools"
}
