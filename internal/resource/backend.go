package resource

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/gateway"
	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// newBackend is the team's own MCP server the config names, if any: a
// stdio command or a --proxy URL (Streamable HTTP or legacy SSE).
func newBackend(cfg Config, sessions *sessions, log *slog.Logger) (gateway.Backend, error) {
	opts := gateway.Options{Timeout: cfg.ProxyTimeout, Sessions: registry{sessions}, Log: log, MaxMessage: cfg.MaxMessage}
	switch {
	case len(cfg.Command) > 0:
		env, err := gateway.StdioEnv(cfg.StdioEnv, os.LookupEnv)
		if err != nil {
			return nil, err
		}
		return gateway.NewStdio(cfg.Command, env, opts)
	case cfg.Proxy != "":
		switch gateway.TransportOf(cfg.ProxyTransport, cfg.Proxy) {
		case gateway.TransportSSE:
			return gateway.NewSSE(cfg.Proxy, opts)
		case gateway.TransportStreamable:
			return gateway.NewHTTP(cfg.Proxy, opts)
		}
		return nil, errors.New("--proxy-transport " + cfg.ProxyTransport + ": use auto, streamable_http or sse")
	}
	return nil, nil
}

// serveBackend hands an authenticated request, judged by requireToken, to
// the team's own server: with who the caller is, the extras the operator
// asked for, and which tools the caller may see.
func (s *Server) serveBackend(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	req := &gateway.Request{Caller: p.caller(), Body: bodyOf(r),
		Identity: func(w http.ResponseWriter, r *http.Request, session string) (gateway.Identity, bool) {
			return s.identity(w, r, p, session)
		}}
	if s.cfg.HideUnauthorized {
		req.Visible = s.toolFilter(p)
	}
	s.backend.ServeMCP(w, r, req)
}

// identity is what the backend gets besides the caller, as the operator
// asked: the user's TaskManager token and an identity assertion (one for
// each backend session, or for each request outside one).
func (s *Server) identity(w http.ResponseWriter, r *http.Request, p *Principal, session string) (gateway.Identity, bool) {
	var id gateway.Identity
	var err error
	if s.cfg.ForwardTaskManagerToken {
		id.TaskManagerToken, err = s.auth.upstreamToken(r.Context(), p, s.cfg.TaskManager)
		if !s.exchanged(w, r, err, "your TaskManager access") {
			return id, false
		}
	}
	if s.cfg.IdentityAssertion && s.cfg.Proxy != "" {
		id.Assertion, err = s.auth.identityAssertion(r.Context(), p, s.cfg.Proxy, session)
		if !s.exchanged(w, r, err, "an identity assertion for you") {
			return id, false
		}
	}
	return id, true
}

// caller is who p is, as a backend learns it.
func (p *Principal) caller() gateway.Caller {
	return gateway.Caller{Subject: p.Subject, Email: p.Email, ClientID: p.ClientID, Scopes: p.Scopes}
}

// registry is the session registry as backends report to it.
type registry struct{ s *sessions }

func (r registry) Add(ctx context.Context, id string, c gateway.Caller) {
	r.s.add(ctx, id, ownerOf(c.Subject, c.ClientID))
}
func (r registry) Remove(id string)   { r.s.remove(id) }
func (r registry) Has(id string) bool { return r.s.has(id) }
func (r registry) Open(ctx context.Context, id string, c gateway.Caller) bool {
	return r.s.open(ctx, id, ownerOf(c.Subject, c.ClientID))
}
func (r registry) Touch(id string) bool { return r.s.touch(id) }

// exchanged answers for a token exchange that failed and reports whether
// it succeeded: a refusal means the grant behind the MCP token is gone
// (401, sign in again); anything else is a fault (503, try again).
func (s *Server) exchanged(w http.ResponseWriter, r *http.Request, err error, what string) bool {
	var refusal *oauthRefusal
	switch {
	case err == nil:
		return true
	case errors.As(err, &refusal):
		s.log.InfoContext(r.Context(), "token exchange refused", "error", refusal.Code)
		s.challenge(w, http.StatusUnauthorized, oauth.BearerChallenge{Error: oauth.CodeInvalidToken,
			ErrorDescription: "the authorization server no longer hands out " + what + "; sign in again"})
	default:
		s.log.ErrorContext(r.Context(), "token exchange failed", "err", err)
		why := "try again shortly"
		var failing *authFailing
		if errors.As(err, &failing) {
			why = failing.Description
		}
		w.Header().Set("Retry-After", retryAfter)
		oauth.WriteJSON(w, nil, &oauth.Error{Code: oauth.CodeTemporarilyUnavailable, Status: http.StatusServiceUnavailable,
			Description: "the authorization server cannot hand out " + what + " right now: " + why})
	}
	return false
}

// warnPlainHTTP warns at start when what the gateway passes on of the
// user would cross a network in the clear: their TaskManager token or an
// identity assertion, to a backend over http that is not on loopback.
func (s *Server) warnPlainHTTP() {
	if s.cfg.Proxy == "" || !s.cfg.ForwardTaskManagerToken && !s.cfg.IdentityAssertion {
		return
	}
	u, err := url.Parse(s.cfg.Proxy)
	if err != nil || u.Scheme != "http" || loopbackHost(u.Hostname()) {
		return
	}
	s.log.Warn("the MCP server behind this gateway is reached over plain http on the network: the user's TaskManager token or identity assertion would travel unencrypted; use https",
		"backend", u.Redacted())
}

// loopbackHost reports whether host names this machine.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
