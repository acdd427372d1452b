package authserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// tokenProof reads the DPoP proof of a token request (RFC 9449 §5): none
// (a bearer token follows, unless RequireDPoP refuses it), or one made
// for a POST to this token endpoint, spent here so it cannot be sent
// twice. On an error the answer is the OAuth error; a use_dpop_nonce one
// goes with a fresh nonce (§8).
func (s *Server) tokenProof(w http.ResponseWriter, r *http.Request) (*dpop.Proof, *oauth.Error) {
	if s.dpop.RequiresNonce() {
		// §8.2: a nonce may come with any answer; the client keeps the
		// newest.
		w.Header().Set(dpop.NonceHeader, s.dpop.Nonce())
	}
	p, derr := s.dpop.Check(r.Header, http.MethodPost, s.endpoint(pathToken), "")
	if derr != nil {
		return nil, proofError(derr)
	}
	if p == nil {
		if s.cfg.RequireDPoP {
			return nil, proofError(&dpop.Error{Code: dpop.CodeInvalidProof,
				Description: "this server issues DPoP-bound tokens only: send a DPoP proof header (RFC 9449)"})
		}
		return nil, nil
	}
	if err := s.dpop.Spend(p); err != nil {
		var de *dpop.Error
		if errors.As(err, &de) {
			return nil, proofError(de)
		}
		return nil, s.unavailable(r.Context(), "DPoP replay cache", err)
	}
	return p, nil
}

// proofError is a refused proof as the token endpoint's error: 400 with
// invalid_dpop_proof or use_dpop_nonce (RFC 9449 §5, §8).
func proofError(e *dpop.Error) *oauth.Error {
	return &oauth.Error{Code: e.Code, Description: e.Description, Status: http.StatusBadRequest}
}

type proofKey struct{}

// withProof carries a token request's checked proof to its grant.
func withProof(ctx context.Context, p *dpop.Proof) context.Context {
	return context.WithValue(ctx, proofKey{}, p)
}

// proofJKT is the thumbprint of the key the token request proved, "" for
// a request without a proof.
func proofJKT(ctx context.Context) string {
	if p, _ := ctx.Value(proofKey{}).(*dpop.Proof); p != nil {
		return p.JKT
	}
	return ""
}

// checkRefreshBinding is RFC 9449 §5.0: a refresh token bound to a key
// (a public client's) is good only with a proof of that key.
func checkRefreshBinding(r *http.Request, old *store.Token) *oauth.Error {
	switch jkt := proofJKT(r.Context()); {
	case old.JKT == "":
		return nil
	case jkt == "":
		return proofError(&dpop.Error{Code: dpop.CodeInvalidProof, Description: "the refresh token is bound to a DPoP key: send a proof of that key"})
	case jkt != old.JKT:
		return proofError(&dpop.Error{Code: dpop.CodeInvalidProof, Description: "the refresh token is bound to another DPoP key"})
	}
	return nil
}

// confirmation is the cnf claim (RFC 7800) of a DPoP-bound token: the
// thumbprint of its key (RFC 9449 §6.1), in a JWT access token and in
// an introspection answer (§6.2).
type confirmation struct {
	JKT string `json:"jkt"`
}

func cnf(jkt string) *confirmation {
	if jkt == "" {
		return nil
	}
	return &confirmation{JKT: jkt}
}

// tokenType is a token response's token_type (RFC 9449 §5).
func tokenType(jkt string) string {
	if jkt != "" {
		return dpop.TokenType
	}
	return "Bearer"
}
