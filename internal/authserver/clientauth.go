package authserver

import (
	"errors"
	"net/http"

	"github.com/tmcp-dev/tmcp/internal/cimd"
	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// authenticateClient identifies the calling client at the token and
// revocation endpoints. Confidential clients must present their secret
// (basic or post); public clients present only their id and rely on PKCE.
func (s *Server) authenticateClient(r *http.Request) (*store.Client, *oauth.Error) {
	c, oerr := s.checkClientCredentials(r)
	if oerr != nil {
		return nil, oerr
	}
	if c.TokenEndpointAuthMethod != oauth.AuthMethodNone {
		// The secret is the proof; a public client's comes with its grant.
		if oerr := s.limitClient(c.ID); oerr != nil {
			return nil, oerr
		}
	}
	return c, nil
}

// provedPublic applies the per-client limit to a public client once the
// request showed a valid code or token of its.
func (s *Server) provedPublic(c *store.Client) *oauth.Error {
	if c.TokenEndpointAuthMethod != oauth.AuthMethodNone {
		return nil
	}
	return s.limitClient(c.ID)
}

func (s *Server) checkClientCredentials(r *http.Request) (*store.Client, *oauth.Error) {
	creds, oerr := oauth.ReadClientCredentials(r)
	if oerr != nil {
		return nil, oerr
	}
	if oerr := s.refuseAfterFailures(r, creds.ID); oerr != nil {
		return nil, oerr
	}
	c, err := s.client(r.Context(), creds.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauth.InvalidClient("unknown client")
	} else if errors.Is(err, cimd.ErrInvalid) {
		return nil, oauth.InvalidClient("the client's metadata document was refused")
	} else if errors.Is(err, errClientLookup) {
		e := oauth.NewError(oauth.CodeTemporarilyUnavailable, "TaskManager could not be asked about this client; try again shortly")
		e.RetryAfter = retryAfter
		return nil, e
	} else if err != nil {
		return nil, s.unavailable(r.Context(), "storage", err)
	}
	if c.TokenEndpointAuthMethod == oauth.AuthMethodNone {
		if creds.Method != oauth.AuthMethodNone {
			return nil, oauth.InvalidClient("this client is public and has no secret")
		}
		return c, nil
	}
	if creds.Method == oauth.AuthMethodNone {
		return nil, oauth.InvalidClient("this client must authenticate with its secret")
	}
	if !secrets.Equal(c.SecretHash, secrets.Hash(creds.Secret)) {
		s.log.InfoContext(r.Context(), "client authentication failed", "client_id", c.ID)
		s.limits.failedAuth.Allow(s.failureKey(r, c.ID))
		return nil, oauth.InvalidClient("client authentication failed")
	}
	return c, nil
}

// refuseAfterFailures slows down secret guessing: a client id whose recent
// authentications from this address failed too often is refused there
// until its budget refills.
func (s *Server) refuseAfterFailures(r *http.Request, clientID string) *oauth.Error {
	if blocked, wait := s.limits.failedAuth.Blocked(s.failureKey(r, clientID)); blocked {
		e := oauth.NewError(oauth.CodeTemporarilyUnavailable, "too many failed authentications of this client from this address; retry after "+httpx.RetryAfter(wait)+" s")
		e.Status, e.RetryAfter = http.StatusTooManyRequests, httpx.RetryAfter(wait)
		return e
	}
	return nil
}

// parseForm reads an x-www-form-urlencoded body and refuses repeated
// parameters (RFC 6749 §3.2).
func parseForm(r *http.Request) *oauth.Error {
	if err := r.ParseForm(); err != nil {
		return oauth.FormError(err)
	}
	for k, v := range r.PostForm {
		if len(v) > 1 && k != "resource" {
			return oauth.InvalidRequest(k + " is repeated")
		}
	}
	return nil
}
