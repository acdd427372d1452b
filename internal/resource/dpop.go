package resource

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// credentials is what a request's Authorization header presents: a
// token and its scheme, Bearer (RFC 6750 §2.1) or DPoP (RFC 9449 §7.1).
type credentials struct {
	token string
	dpop  bool
}

// readCredentials reads the Authorization header; the scheme is matched
// without regard to case (RFC 9110 §11.1).
func readCredentials(r *http.Request) (credentials, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if token == "" {
		return credentials{}, false
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return credentials{token: token}, true
	case strings.EqualFold(scheme, dpop.Scheme):
		return credentials{token: token, dpop: true}, true
	}
	return credentials{}, false
}

// requestURI is the request's URI as the client addressed it (the
// public URL's scheme and host, the request's path): what a proof's htu
// must name (RFC 9449 §4.3 check 9).
func (s *Server) requestURI(r *http.Request) string {
	u := *s.publicURL
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, ""
	return u.String()
}

// dpopRefusal is a DPoP-bound token or proof refused, answered 401
// with the error in the DPoP challenge.
type dpopRefusal struct{ code, description string }

// checkProof is RFC 9449 §4.3 for a request with the DPoP scheme, before
// the token is looked up: a request whose proof is bad on its face costs
// no round trip to the auth server. Nothing is spent yet.
func (s *Server) checkProof(r *http.Request, cred credentials) (*dpop.Proof, *dpopRefusal) {
	proof, derr := s.dpop.Check(r.Header, r.Method, s.requestURI(r), cred.token)
	switch {
	case derr != nil:
		return nil, &dpopRefusal{derr.Code, derr.Description}
	case proof == nil:
		return nil, &dpopRefusal{dpop.CodeInvalidProof, "a DPoP token needs a DPoP proof header"}
	}
	return proof, nil
}

// checkBinding is RFC 9449 §7.1 once the token is known valid: a token
// bound to a key passes only with the DPoP scheme and a proof of that
// key, never as a bearer token (§7.2); with RequireDPoP no bearer token
// passes at all. The proof is spent last (§11.1), so that proofs from
// anybody cannot fill the replay cache. A non-nil error is a fault.
func (s *Server) checkBinding(cred credentials, proof *dpop.Proof, p *Principal) (*dpopRefusal, error) {
	switch {
	case !cred.dpop && p.JKT != "":
		return &dpopRefusal{oauth.CodeInvalidToken, "this access token is bound to a DPoP key: send it as Authorization: DPoP with a DPoP proof"}, nil
	case !cred.dpop && s.cfg.RequireDPoP:
		return &dpopRefusal{oauth.CodeInvalidToken, "this server accepts DPoP-bound tokens only: get a token with a DPoP proof (RFC 9449)"}, nil
	case !cred.dpop:
		return nil, nil
	case p.JKT == "":
		return &dpopRefusal{oauth.CodeInvalidToken, "this access token is not bound to a DPoP key: send it as Authorization: Bearer"}, nil
	case proof.JKT != p.JKT:
		return &dpopRefusal{dpop.CodeInvalidProof, "the proof is signed by another key than the one the token is bound to"}, nil
	}
	if err := s.dpop.Spend(proof); err != nil {
		var de *dpop.Error
		if errors.As(err, &de) {
			return &dpopRefusal{de.Code, de.Description}, nil
		}
		return nil, err
	}
	return nil, nil
}

// refuseDPoP answers a refusal 401 with a DPoP challenge.
func (s *Server) refuseDPoP(w http.ResponseWriter, d *dpopRefusal) {
	s.challengeIn(w, http.StatusUnauthorized, oauth.BearerChallenge{Error: d.code, ErrorDescription: d.description}, true)
}

// challenges writes the WWW-Authenticate fields of a 401 or 403: a
// Bearer challenge (unless RequireDPoP) and a DPoP one with the accepted
// algs (RFC 9449 §7.1), as separate fields so that a client reading only
// the first sees the Bearer one it knows. The error goes in the DPoP
// challenge when the request used DPoP or was refused for DPoP's sake,
// else in the Bearer one; the other carries none.
func (s *Server) challenges(w http.ResponseWriter, c oauth.BearerChallenge, inDPoP bool) {
	bare := oauth.BearerChallenge{ResourceMetadata: c.ResourceMetadata, Scope: c.Scope}
	h := w.Header()
	h.Del("WWW-Authenticate")
	if !s.cfg.RequireDPoP {
		b := c
		if inDPoP {
			b = bare
		}
		h.Add("WWW-Authenticate", b.String())
	}
	d := bare
	if inDPoP || s.cfg.RequireDPoP {
		d = c
	}
	d.Algs = dpop.AlgList()
	h.Add("WWW-Authenticate", d.DPoPString())
	if s.dpop.RequiresNonce() {
		h.Set(dpop.NonceHeader, s.dpop.Nonce())
	}
}
