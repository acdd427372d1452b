package resource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/forward"
	"github.com/tmcp-dev/tmcp/pkg/mcpmsg"
	"github.com/tmcp-dev/tmcp/pkg/oauth"
)

// Identity headers the gateway sets on every request to the backend.
// The same names arriving from the MCP client are dropped first.
const (
	HeaderUser     = "X-Forwarded-User"
	HeaderEmail    = "X-Forwarded-Email"
	HeaderClientID = "X-Forwarded-Client-Id"
	HeaderScopes   = "X-Forwarded-Scopes"
	// HeaderIdentity carries a JWT signed by the auth server (verify it
	// with <issuer>/.well-known/jwks.json; typ tmcp-identity+jwt, aud =
	// the backend's URL), for a backend others could reach too.
	HeaderIdentity = "X-Tmcp-Identity"
)

// gateway passes authenticated MCP requests on to the team's own MCP
// server (Streamable HTTP), with who the user is in headers and never the
// MCP client's token: token passthrough is forbidden (MCP security best
// practices), the backend is not the token's audience.
type gateway struct {
	backend *url.URL
	timeout time.Duration
	fwd     *forward.Forwarder
	s       *Server
}

// strippedHeaders never reach the backend from the MCP client: its
// credentials, and anything a server or the framework under it may take
// for who the user is or where the request came from.
var strippedHeaders = forward.Excluding("Authorization", "Cookie", "Origin", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host",
	"X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Ssl", "X-Real-Ip",
	"X-Original-Url", "X-Original-Uri", "X-Rewrite-Url", "X-Client-Ip", "True-Client-Ip", "X-Remote-User", "Remote-User",
	"Accept-Encoding", // answers come back plain, so --hide-unauthorized can read them
	HeaderUser, HeaderEmail, HeaderClientID, HeaderScopes, HeaderIdentity)

// excluded is what of h does not reach the backend: strippedHeaders, and
// the names that read as one of them once '_' is taken for '-' (CGI,
// WSGI and Rack name headers HTTP_X_FORWARDED_USER either way) or that
// begin X-Forwarded- / X-Tmcp-. Most requests have none, and share
// strippedHeaders.
func excluded(h http.Header) forward.Fields {
	var extra []string
	for name := range h {
		if !strippedHeaders[name] && lookalike(name) {
			extra = append(extra, name)
		}
	}
	if extra == nil {
		return strippedHeaders
	}
	out := make(forward.Fields, len(strippedHeaders)+len(extra))
	for k := range strippedHeaders {
		out[k] = true
	}
	for _, k := range extra {
		out[k] = true
	}
	return out
}

// identityPrefixes begin the headers that servers, proxies and
// frameworks commonly take for who the user is (oauth2-proxy's
// X-Auth-Request-*, Gitea's X-Webauth-*, …) or where the request came
// from.
var identityPrefixes = []string{"x-forwarded-", "x-tmcp-", "x-auth-request-", "x-webauth-", "x-authenticated-",
	"x-remote-", "remote-", "x-user", "x-email", "x-original-", "x-real-"}

// lookalike reports whether a header name may be read as a stripped one,
// or as another claim of who the user is.
func lookalike(name string) bool {
	if strings.IndexByte(name, '_') >= 0 {
		return true
	}
	n := strings.ToLower(name)
	for _, p := range identityPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

func newGateway(s *Server, backend string, timeout time.Duration) (*gateway, error) {
	u, err := url.Parse(backend)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--proxy %q: want the MCP server's http(s) URL, like http://127.0.0.1:3000/mcp", backend)
	}
	fwd, err := forward.New(u, forward.Options{DialTimeout: min(timeout, 5*time.Second), HeaderTimeout: timeout, MaxIdle: 256})
	if err != nil {
		return nil, err
	}
	return &gateway{backend: u, timeout: timeout, fwd: fwd, s: s}, nil
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, _ := PrincipalFrom(ctx) // requireToken put it there
	var extra identity
	var err error
	if g.s.cfg.ForwardTaskManagerToken {
		extra.taskManagerToken, err = g.s.auth.upstreamToken(ctx, p, g.s.cfg.TaskManager)
		if !g.s.exchanged(w, r, err, "your TaskManager access") {
			return
		}
	}
	if g.s.cfg.IdentityAssertion {
		extra.assertion, err = g.s.auth.identityAssertion(ctx, p, g.backend.String(), r.Header.Get(mcpmsg.HeaderSessionID))
		if !g.s.exchanged(w, r, err, "an identity assertion for you") {
			return
		}
	}
	var body []byte // GET and DELETE carry none
	if b := bodyOf(r); b != nil {
		body = b.Raw // the bytes requireToken judged
	}
	ids := make(http.Header, 6)
	setIdentity(ids, p, extra)
	resp, err := g.fwd.Do(ctx, &forward.Request{Method: r.Method, Header: r.Header, Exclude: excluded(r.Header), Extra: ids,
		Body: body, RawQuery: r.URL.RawQuery})
	if err != nil {
		g.failed(w, r, err)
		return
	}
	defer resp.Body.Close()
	resp.Request = r
	if err := g.track(resp); err != nil {
		g.failed(w, r, err)
		return
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	g.copyBody(w, resp)
}

// copyBuffers are the buffers answers are copied through.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

// copyBody sends the backend's answer on: a sized JSON answer as it
// comes, a stream (SSE, or a body of unknown length) flushed after every
// read, so each event reaches the client when the backend sends it.
func (g *gateway) copyBody(w http.ResponseWriter, resp *http.Response) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	flusher, _ := w.(http.Flusher)
	if resp.ContentLength >= 0 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		flusher = nil
	}
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the client went away
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			if err != io.EOF && resp.Request.Context().Err() == nil {
				g.s.log.WarnContext(resp.Request.Context(), "backend MCP server's answer broke off", "backend", g.backend.Redacted(), "err", err)
				panic(http.ErrAbortHandler) // the client must see the answer end early, not a whole one
			}
			return
		}
	}
}

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
		w.Header().Set("Retry-After", retryAfter)
		oauth.WriteJSON(w, nil, &oauth.Error{Code: oauth.CodeTemporarilyUnavailable, Status: http.StatusServiceUnavailable,
			Description: "the authorization server cannot hand out " + what + " right now; try again shortly"})
	}
	return false
}

// setIdentity puts who the user is on a request to the backend.
func setIdentity(h http.Header, p *Principal, extra identity) {
	h.Set(HeaderUser, p.Subject)
	if p.Email != "" {
		h.Set(HeaderEmail, p.Email)
	}
	h.Set(HeaderClientID, p.ClientID)
	h.Set(HeaderScopes, strings.Join(p.Scopes, " "))
	if extra.taskManagerToken != "" {
		h.Set("Authorization", "Bearer "+extra.taskManagerToken) // TaskManager's, never tmcp's
	}
	if extra.assertion != "" {
		h.Set(HeaderIdentity, extra.assertion)
	}
}

// track binds the session the backend opens to the user whose initialize
// opened it, and forgets a session the client ended.
func (g *gateway) track(resp *http.Response) error {
	r := resp.Request
	p, _ := PrincipalFrom(r.Context())
	if g.s.cfg.HideUnauthorized {
		// Every answer, on every stream and of any status: a tools/list
		// answer may come on a stream resumed with GET.
		if err := hideInResponse(resp, g.s.toolFilter(p)); err != nil {
			return err
		}
	}
	if resp.StatusCode/100 != 2 {
		return nil
	}
	sent, minted := r.Header.Get(mcpmsg.HeaderSessionID), resp.Header.Get(mcpmsg.HeaderSessionID)
	switch {
	case r.Method == http.MethodDelete:
		g.s.sessions.remove(sent)
	case minted != "" && sent == "":
		// Bound to its user whatever opened it; a client cannot name a
		// session the gateway did not see minted.
		g.s.sessions.add(r.Context(), minted, owner(p))
	}
	return nil
}

// failed answers for a backend that is down or too slow: a JSON-RPC error
// with a clear message, 502 or 504, never a hang.
func (g *gateway) failed(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusBadGateway, "the MCP server behind this gateway is not reachable"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		status, msg = http.StatusGatewayTimeout, fmt.Sprintf("the MCP server behind this gateway did not answer within %s", g.timeout)
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		return // the client went away
	}
	g.s.log.WarnContext(r.Context(), "backend MCP server failed", "backend", g.backend.Redacted(), "err", err)
	rpcError(w, status, rpcInternalError, msg)
}

// ready checks that the backend accepts connections.
func (g *gateway) ready(ctx context.Context) error {
	host := g.backend.Host
	if g.backend.Port() == "" {
		host = net.JoinHostPort(g.backend.Hostname(), map[string]string{"http": "80", "https": "443"}[g.backend.Scheme])
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("the MCP server behind this gateway (%s) is not reachable", g.backend.Redacted())
	}
	return conn.Close()
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
