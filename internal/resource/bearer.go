package resource

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/tasktools"
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
	// JKT is the thumbprint of the key a DPoP-bound token is bound to
	// (RFC 9449 §6), "" for a bearer token.
	JKT   string
	token string // the MCP token itself, for the token exchange only
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

// maxRPCBody bounds the JSON-RPC bodies the gateway and the built-in
// server read.
const maxRPCBody = 1 << 20

// requireToken authenticates every MCP request (RFC 6750 §2.1 header only,
// or a DPoP-bound token with its proof, RFC 9449 §7) and answers 401
// with the challenge MCP clients discover the auth server from (RFC 9728
// §5.1), or 403 when a call needs a scope the token lacks,
// naming the scopes to step up to. A POST's body is read here, once and
// strictly (mcpmsg): the policies judge that reading, and the very bytes
// judged are what the MCP server behind gets; a body that cannot be
// judged is refused before anything runs.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := mcpmsg.CheckRequest(r); err != nil {
			err.Write(w)
			return
		}
		cred, ok := readCredentials(r)
		if !ok {
			s.challenge(w, http.StatusUnauthorized, oauth.BearerChallenge{})
			return
		}
		var proof *dpop.Proof
		if cred.dpop {
			var refusal *dpopRefusal
			if proof, refusal = s.checkProof(r, cred); refusal != nil {
				s.metrics.count(nil, nil)
				s.refuseDPoP(w, refusal)
				return
			}
		}
		p, err := s.auth.principal(r.Context(), cred.token, s.cfg.Resource)
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
			s.challengeIn(w, http.StatusUnauthorized, oauth.BearerChallenge{Error: oauth.CodeInvalidToken,
				ErrorDescription: "the access token is invalid, expired, revoked, or for another resource"}, cred.dpop)
			return
		}
		if refusal, err := s.checkBinding(cred, proof, p); err != nil {
			s.log.ErrorContext(r.Context(), "DPoP replay check failed", "err", err)
			w.Header().Set("Retry-After", retryAfter)
			oauth.WriteJSON(w, nil, &oauth.Error{Code: oauth.CodeTemporarilyUnavailable, Status: http.StatusServiceUnavailable,
				Description: "too many DPoP proofs at once to check them for replay; try again shortly"})
			return
		} else if refusal != nil {
			s.refuseDPoP(w, refusal)
			return
		}
		var body *mcpmsg.Body
		if r.Method == http.MethodPost {
			if body, ok = s.readMessages(w, r); !ok {
				return
			}
			need, rerr := s.needs(body)
			if rerr != nil {
				rerr.Write(w)
				return
			}
			if !oauth.ScopeSubset(need, p.Scopes) {
				s.stepUps.refusedScope(r.Context(), s.log, s.now(), p.ClientID, p.Scopes, need)
				s.challengeIn(w, http.StatusForbidden, oauth.BearerChallenge{Error: oauth.CodeInsufficientScope,
					ErrorDescription: "this request needs the " + oauth.JoinScope(need) + " scope",
					Scope:            oauth.JoinScope(union(p.Scopes, need))}, cred.dpop)
				return
			}
		}
		ctx, release, ok := s.sessions.guard(w, r, p, body != nil && body.Opens(), s.legacySSE())
		if !ok {
			return
		}
		defer release()
		ctx = withPrincipal(ctx, p)
		if body != nil {
			ctx = context.WithValue(ctx, rpcBodyKey{}, body)
			// The MCP method names the request in its trace (never
			// its arguments).
			for _, m := range body.Messages {
				if m.Method != "" {
					trace.SpanFromContext(ctx).SetAttributes(attribute.String("mcp.method.name", m.Method))
					break
				}
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// readMessages reads and judges a POST's messages, and puts the body
// back for the built-in MCP server.
func (s *Server) readMessages(w http.ResponseWriter, r *http.Request) (*mcpmsg.Body, bool) {
	raw, rerr := mcpmsg.ReadBody(r, maxRPCBody)
	if rerr != nil {
		rerr.Write(w)
		return nil, false
	}
	body, err := mcpmsg.Decode(raw)
	if err != nil {
		err.(*mcpmsg.Error).Write(w)
		return nil, false
	}
	if rerr := mcpmsg.CheckHeaders(r.Header, body); rerr != nil {
		rerr.Write(w)
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return body, true
}

// challenge writes a Bearer challenge (and a DPoP one beside it). The
// scope of a plain 401 is the default scope: enough to start, with
// step-up for more.
func (s *Server) challenge(w http.ResponseWriter, status int, c oauth.BearerChallenge) {
	s.challengeIn(w, status, c, false)
}

// challengeIn is challenge with the error in the DPoP challenge when
// inDPoP (see challenges).
func (s *Server) challengeIn(w http.ResponseWriter, status int, c oauth.BearerChallenge, inDPoP bool) {
	c.ResourceMetadata = s.metadataURL()
	if c.Scope == "" {
		c.Scope = oauth.JoinScope(s.cfg.DefaultScope)
	}
	s.challenges(w, c, inDPoP)
	body := &oauth.Error{Code: c.Error, Description: c.ErrorDescription, Status: status}
	if body.Code == "" {
		// RFC 6750 §3.1: no error code in the challenge of a request that
		// sent no token; the body still says what to do.
		body.Code, body.Description = oauth.CodeInvalidToken, "authorization is required: sign in and send the access token in a Bearer header"
	}
	oauth.WriteJSON(w, nil, body)
}

type rpcBodyKey struct{}

// bodyOf is the body requireToken read from r, or nil for GET and DELETE.
func bodyOf(r *http.Request) *mcpmsg.Body {
	b, _ := r.Context().Value(rpcBodyKey{}).(*mcpmsg.Body)
	return b
}

// needs is the scopes a body's calls need: tools by the tool policy (or
// the built-in tools' own), and, in front of the team's own server,
// prompts by the prompt policy and resources by the resource policy.
func (s *Server) needs(b *mcpmsg.Body) ([]string, *mcpmsg.Error) {
	var need []string
	for i := range b.Messages {
		m := &b.Messages[i]
		if m.Tool != "" {
			need = union(need, s.toolNeeds(m.Tool))
		}
		if !s.ownServer() {
			continue
		}
		if m.Prompt != "" {
			need = union(need, s.cfg.PromptPolicy.Need(m.Prompt, s.cfg.DefaultScope))
		}
		if m.Resource != "" {
			sc, err := s.cfg.ResourcePolicy.NeedURI(m.Resource, s.cfg.DefaultScope)
			if err != nil {
				return nil, &mcpmsg.Error{Code: mcpmsg.CodeInvalidParams, ID: m.ID, Message: "the resource URI " + strconv.Quote(m.Resource) + " cannot be judged: " + err.Error()}
			}
			need = union(need, sc)
		}
	}
	return need, nil
}

// ownServer reports whether /mcp is a gateway to the team's own server.
func (s *Server) ownServer() bool { return s.backend != nil }

// toolNeeds is the scopes a call of tool needs: the gateway's tool policy,
// or the built-in tools' own.
func (s *Server) toolNeeds(tool string) []string {
	if s.ownServer() {
		return s.cfg.ToolPolicy.Need(tool, s.cfg.DefaultScope)
	}
	if sc := tasktools.Scopes[tool]; sc != "" {
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
