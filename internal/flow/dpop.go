package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// stepDPoP checks that the DPoP-bound token is refused without its key.
const stepDPoP = "dpop"

// dpopState is what a --dpop run keeps: its key, and the newest nonce
// each origin gave (RFC 9449 §8.2, §9).
type dpopState struct {
	key *dpop.Key
	// mu guards nonces apart from runner.authMu, which a sign-in holds
	// while it asks for tokens.
	mu     sync.Mutex
	nonces map[string]string // by origin
}

func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return strings.ToLower(p.Scheme + "://" + p.Host)
}

// proof signs a proof for a request of method to u, with the access
// token ("" at the token endpoint) and the origin's nonce.
func (r *runner) proof(method, u, token string) (string, error) {
	r.dpop.mu.Lock()
	nonce := r.dpop.nonces[origin(u)]
	r.dpop.mu.Unlock()
	return r.dpop.key.Proof(method, u, token, nonce)
}

// observeNonce keeps a DPoP-Nonce an answer carries.
func (r *runner) observeNonce(u string, h http.Header) bool {
	n := h.Get(dpop.NonceHeader)
	if n == "" {
		return false
	}
	r.dpop.mu.Lock()
	r.dpop.nonces[origin(u)] = n
	r.dpop.mu.Unlock()
	return true
}

// dpopTokenCall is a token request with a DPoP proof (RFC 9449 §5),
// sent again once with the server's nonce when it asks for one (§8).
func (r *runner) dpopTokenCall(ctx context.Context, c oauth.Call, out any) error {
	for try := 0; ; try++ {
		p, err := r.proof(http.MethodPost, c.URL, "")
		if err != nil {
			return err
		}
		c.Header = http.Header{dpop.Header: {p}}
		a, err := r.send(ctx, c)
		if err != nil {
			return err
		}
		fresh := r.observeNonce(c.URL, a.Header)
		err = a.Decode(out)
		var ae *oauth.AnswerError
		if try == 0 && fresh && errors.As(err, &ae) && ae.Code == dpop.CodeUseNonce {
			continue
		}
		return err
	}
}

// dpopProbe presents the DPoP-bound token the ways an attacker who
// copied it could: as a bearer token, with a proof of another key, and
// with a proof seen before. The MCP server must refuse each (RFC 9449
// §7).
func (r *runner) dpopProbe(ctx context.Context) (string, error) {
	if r.dpop == nil {
		return "", errSkip{"--dpop is off"}
	}
	token := r.token()
	body := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
	other, err := dpop.NewKey()
	if err != nil {
		return "", err
	}
	otherProof, err := other.Proof(http.MethodPost, r.opts.Server, token, "")
	if err != nil {
		return "", err
	}
	seen, err := r.proof(http.MethodPost, r.opts.Server, token)
	if err != nil {
		return "", err
	}
	// The first use of seen is good (or wants a nonce); the second must fail.
	if _, err := r.mcpPostAs(ctx, dpop.Scheme, token, seen, body); err != nil {
		return "", err
	}
	for _, c := range []struct{ what, scheme, proof string }{
		{"as a bearer token", "Bearer", ""},
		{"with another key's proof", dpop.Scheme, otherProof},
		{"with a proof sent before", dpop.Scheme, seen},
	} {
		a, err := r.mcpPostAs(ctx, c.scheme, token, c.proof, body)
		if err != nil {
			return "", err
		}
		if a.Status != http.StatusUnauthorized {
			return "", fmt.Errorf("the MCP server answered %d to the DPoP-bound token %s, want 401", a.Status, c.what)
		}
	}
	return "refused as a bearer token, with another key and with a replayed proof", nil
}

// mcpPostAs posts body with Authorization: scheme token and proof as
// the DPoP header (none when "").
func (r *runner) mcpPostAs(ctx context.Context, scheme, token, proof, body string) (*oauth.Answer, error) {
	h := http.Header{"Accept": {"application/json, text/event-stream"}, "Mcp-Protocol-Version": {"2025-11-25"},
		"Authorization": {scheme + " " + token}}
	if proof != "" {
		h.Set(dpop.Header, proof)
	}
	return r.send(ctx, oauth.Call{URL: r.opts.Server, JSON: json.RawMessage(body), Header: h})
}
