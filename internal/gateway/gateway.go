// Package gateway passes authenticated MCP requests on to a team's own MCP
// server, whatever it speaks: Streamable HTTP (NewHTTP), the legacy
// HTTP+SSE transport (NewSSE) or stdio, a process per session (NewStdio).
// Each is a Backend. The resource server in front decides who the caller
// is and what they may do (internal/resource); a backend only carries the
// request the caller was judged for, the very bytes judged, with who the
// caller is and never their token (MCP security best practices: no token
// passthrough). Nothing here points back at the server: what a backend
// needs of it comes in the Request and the Options. Clients of the
// stateless 2026-07-28 revision are served whatever the backend speaks:
// a 2025 backend through a backend session per user and client
// (modern.go, bridge_modern.go, httpbridge.go).
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// Caller is who a request is from, as the resource server established it
// from a valid token.
type Caller struct {
	Subject  string
	Email    string // verified by the provider, or ""
	ClientID string
	Scopes   []string
}

// Identity is what a backend may get of the caller besides the Caller:
// their TaskManager access token and an identity assertion, when the
// operator asked for them.
type Identity struct {
	TaskManagerToken string
	Assertion        string
}

// Request is one authenticated request for the team's server.
type Request struct {
	Caller Caller
	// Body is a POST's messages, read and judged by the resource server;
	// nil for GET and DELETE.
	Body *mcpmsg.Body
	// Identity gets the extras for one backend session (session ""
	// for a request outside one); when it cannot, it has answered w
	// itself and reports false.
	Identity func(w http.ResponseWriter, r *http.Request, session string) (Identity, bool)
	// Visible, when not nil, says which tools the caller may see in a
	// tools/list answer.
	Visible func(tool string) bool
}

// Sessions is the resource server's registry of MCP sessions, as a
// backend reports to it: the sessions it opens (bound to their caller, in
// the room the request reserved, ctx being the request's), and those
// that end.
type Sessions interface {
	Add(ctx context.Context, id string, c Caller)
	Remove(id string)
	Has(id string) bool
	// Open adds a session the gateway opens on its own for c (the
	// backend session of a user and client's 2026-07-28 requests) when
	// the caps leave room for it, and reports whether they did.
	Open(ctx context.Context, id string, c Caller) bool
	// Touch marks session id used and reports whether it is still open
	// (one idle past the idle TTL is not).
	Touch(id string) bool
}

// Backend is a team's MCP server as the gateway reaches it.
type Backend interface {
	// ServeMCP answers one authenticated request.
	ServeMCP(w http.ResponseWriter, r *http.Request, req *Request)
	// SessionEnded ends what session id held (a process, a stream),
	// however the session ended (closed, idle, swept).
	SessionEnded(id string)
	// Ready checks that the server can be reached.
	Ready(ctx context.Context) error
	// Close ends every session's connection and idle connections.
	Close()
	// Name says what the backend is, for status and logs.
	Name() string
}

// Options are what every backend is given.
type Options struct {
	// Timeout bounds how long the server may take to take a message and
	// to start answering (an event stream may then last its session).
	Timeout  time.Duration
	Sessions Sessions
	Log      *slog.Logger
	// MaxMessage bounds one message from the server that the gateway
	// reads whole (a stdio line, an event, an answer whose tools it
	// filters); zero means DefaultMaxMessage.
	MaxMessage int
}

// DefaultMaxMessage is the default bound of one message from the server.
const DefaultMaxMessage = 16 << 20

func (o Options) maxMessage() int {
	if o.MaxMessage > 0 {
		return o.MaxMessage
	}
	return DefaultMaxMessage
}

// Identity headers a backend reached over HTTP gets on every request. The
// same names arriving from the MCP client are dropped first.
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

// setIdentity puts who the caller is on a request to the backend.
func setIdentity(h http.Header, c Caller, extra Identity) {
	h.Set(HeaderUser, c.Subject)
	if c.Email != "" {
		h.Set(HeaderEmail, c.Email)
	}
	h.Set(HeaderClientID, c.ClientID)
	h.Set(HeaderScopes, strings.Join(c.Scopes, " "))
	if extra.TaskManagerToken != "" {
		h.Set("Authorization", "Bearer "+extra.TaskManagerToken) // TaskManager's, never tmcp's
	}
	if extra.Assertion != "" {
		h.Set(HeaderIdentity, extra.Assertion)
	}
}

// rpcError answers with a JSON-RPC error that belongs to no request.
func rpcError(w http.ResponseWriter, status, code int, msg string) {
	(&mcpmsg.Error{Status: status, Code: code, Message: msg}).Write(w)
}

// rpcErrorMessage is an internal JSON-RPC error as one message, for a
// stream.
func rpcErrorMessage(msg string) []byte {
	return (&mcpmsg.Error{Code: mcpmsg.CodeInternalError, Message: msg}).JSON()
}
