package resource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/oauth"
)

// Principal is who a valid MCP access token speaks for.
type Principal struct {
	Subject  string
	Username string
	// Email is the address the provider verified ("" if none): the
	// only one passed on as the user's, never the username.
	Email    string
	ClientID string
	Scopes   []string
	Expiry   time.Time
	token    string // the MCP token itself, for the token exchange only
}

// Has reports whether the token carries scope.
func (p *Principal) Has(scope string) bool {
	return scope == "" || oauth.ScopeSubset([]string{scope}, p.Scopes)
}

type principalKey struct{}

// PrincipalFrom returns the principal the bearer middleware authenticated.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

func withPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// retryAfter is the Retry-After of a 503, in seconds.
const retryAfter = "5"

// maxRPCBody bounds the JSON-RPC bodies the scope check reads.
const maxRPCBody = 1 << 20

// presizedBody is the largest body read into memory of its claimed size.
const presizedBody = 64 << 10

// requireToken authenticates every MCP request (RFC 6750 §2.1 header only)
// and answers 401 with the challenge MCP clients discover the auth server
// from (RFC 9728 §5.1), or 403 when a tools/call needs a scope the token
// lacks, naming the scopes to step up to.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			s.challenge(w, http.StatusUnauthorized, oauth.BearerChallenge{})
			return
		}
		p, err := s.auth.principal(r.Context(), token, s.cfg.Resource)
		s.metrics.count(p, err)
		if err != nil {
			// A fault, not a verdict: never 401, which makes clients
			// throw their tokens away.
			s.log.ErrorContext(r.Context(), "token validation failed", "err", err)
			w.Header().Set("Retry-After", retryAfter)
			oauth.WriteJSON(w, nil, &oauth.Error{Code: oauth.CodeTemporarilyUnavailable, Status: http.StatusServiceUnavailable,
				Description: "the authorization server cannot check tokens right now; try again shortly"})
			return
		}
		if p == nil {
			s.challenge(w, http.StatusUnauthorized, oauth.BearerChallenge{Error: oauth.CodeInvalidToken,
				ErrorDescription: "the access token is invalid, expired, revoked, or for another resource"})
			return
		}
		var body rpcBody
		if r.Method == http.MethodPost {
			if body, err = s.peek(r); err != nil {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			if !oauth.ScopeSubset(body.need, p.Scopes) {
				s.challenge(w, http.StatusForbidden, oauth.BearerChallenge{Error: oauth.CodeInsufficientScope,
					ErrorDescription: "this request needs the " + oauth.JoinScope(body.need) + " scope",
					Scope:            oauth.JoinScope(union(p.Scopes, body.need))})
				return
			}
		}
		if !s.sessions.guard(w, r, p, body.initialize) {
			return
		}
		ctx := context.WithValue(withPrincipal(r.Context(), p), rpcBodyKey{}, body)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// challenge writes a Bearer challenge. The scope of a plain 401 is the
// default scope: enough to start, with step-up for more.
func (s *Server) challenge(w http.ResponseWriter, status int, c oauth.BearerChallenge) {
	c.ResourceMetadata = s.metadataURL()
	if c.Scope == "" {
		c.Scope = oauth.JoinScope(s.cfg.DefaultScope)
	}
	w.Header().Set("WWW-Authenticate", c.String())
	body := &oauth.Error{Code: c.Error, Description: c.ErrorDescription, Status: status}
	if body.Code == "" {
		// RFC 6750 §3.1: no error code in the challenge of a request that
		// sent no token; the body still says what to do.
		body.Code, body.Description = oauth.CodeInvalidToken, "authorization is required: sign in and send the access token in a Bearer header"
	}
	oauth.WriteJSON(w, nil, body)
}

type rpcCall struct {
	Method string `json:"method"`
	Params struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	} `json:"params"`
}

// rpcBody is what the bearer check learned of a POST's JSON-RPC body.
type rpcBody struct {
	need       []string // scopes its calls need
	initialize bool     // it opens a session
	listsTools bool     // it asks for tools/list
	raw        []byte   // the body itself
}

type rpcBodyKey struct{}

// bodyOf is what requireToken learned of r's body.
func bodyOf(r *http.Request) rpcBody {
	b, _ := r.Context().Value(rpcBodyKey{}).(rpcBody)
	return b
}

// readBody reads r's body whole, up to maxRPCBody: in one allocation
// when the client said it is small, else grown as it arrives, so a
// length that is claimed and never sent reserves no memory.
func readBody(r *http.Request) ([]byte, error) {
	defer r.Body.Close()
	if n := r.ContentLength; n >= 0 && n <= presizedBody {
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRPCBody+1))
	if err == nil && len(body) > maxRPCBody {
		err = errors.New("too large")
	}
	return body, err
}

// peek reads a JSON-RPC body (a message or a batch), restoring it for the
// MCP server. A body that is not JSON-RPC needs nothing here; the MCP
// server answers it.
func (s *Server) peek(r *http.Request) (rpcBody, error) {
	var out rpcBody
	body, err := readBody(r)
	if err != nil {
		return out, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	out.raw = body
	out.initialize = bytes.Contains(body, []byte(`"initialize"`)) && rpcMethodIs(body, "initialize")
	out.listsTools = bytes.Contains(body, []byte(`"tools/list"`))
	if !bytes.Contains(body, []byte("tools/call")) && !bytes.Contains(body, []byte("prompts/get")) && !bytes.Contains(body, []byte("resources/read")) {
		return out, nil // only these need a scope beyond a valid token
	}
	var calls []rpcCall
	trimmed := bytes.TrimSpace(body)
	if bytes.HasPrefix(trimmed, []byte("[")) {
		_ = json.Unmarshal(trimmed, &calls)
	} else {
		var one rpcCall
		if json.Unmarshal(trimmed, &one) == nil {
			calls = append(calls, one)
		}
	}
	for _, c := range calls {
		switch {
		case c.Method == "tools/call":
			out.need = union(out.need, s.toolNeeds(c.Params.Name))
		case c.Method == "prompts/get" && s.ownServer():
			out.need = union(out.need, s.cfg.PromptPolicy.Need(c.Params.Name, s.cfg.DefaultScope))
		case c.Method == "resources/read" && s.ownServer():
			out.need = union(out.need, s.cfg.ResourcePolicy.Need(c.Params.URI, s.cfg.DefaultScope))
		}
	}
	return out, nil
}

// ownServer reports whether /mcp is a gateway to the team's own server.
func (s *Server) ownServer() bool { return s.gateway != nil || s.bridge != nil }

// toolNeeds is the scopes a call of tool needs: the gateway's tool policy,
// or the built-in tools' own.
func (s *Server) toolNeeds(tool string) []string {
	if s.ownServer() {
		return s.cfg.ToolPolicy.Need(tool, s.cfg.DefaultScope)
	}
	if sc := toolScopes[tool]; sc != "" {
		return []string{sc}
	}
	return nil
}

// union is a's scopes followed by those of b it lacks.
func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, sc := range b {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

func rpcMethodIs(body []byte, method string) bool {
	var one rpcCall
	return json.Unmarshal(bytes.TrimSpace(body), &one) == nil && one.Method == method
}
