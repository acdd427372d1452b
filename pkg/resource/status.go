package resource

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/oauth"
	"github.com/tmcp-dev/tmcp/pkg/secrets"
	"github.com/tmcp-dev/tmcp/pkg/status"
)

// serveStatus answers GET /status: what this MCP server runs with, and
// whether the auth server accepts its introspection credentials now.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	if !status.Local(r) {
		id, secret, ok := r.BasicAuth()
		if !ok || !secrets.Equal(id, s.cfg.ClientID) || !secrets.Equal(secret, s.cfg.ClientSecret) {
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
