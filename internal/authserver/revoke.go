package authserver

import (
	"errors"
	"net/http"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// revoke is RFC 7009. Revoking a refresh token revokes its whole grant
// (§2.1: the access tokens of the same grant SHOULD go too); revoking an
// access token revokes that token. Unknown tokens get 200 (§2.2).
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	client, value, ok := tokenRequest(s, w, r, s.authenticateClient)
	if !ok {
		return
	}
	hash := secrets.Hash(value)
	// §2.2: an unknown token is answered 200; a storage fault 503, after
	// which the client must assume the token is still valid (§2.2.1).
	t, err := s.store.GetToken(r.Context(), hash)
	var g *store.Grant
	if err == nil {
		g, err = s.store.GetGrant(r.Context(), t.GrantID)
	}
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusOK)
		return
	} else if err != nil {
		s.writeError(w, r, s.unavailable(r.Context(), "storage", err))
		return
	}
	if g.ClientID != client.ID {
		// §2.1: a token of another client is refused, not revoked.
		s.writeError(w, r, oauth.NewError(oauth.CodeUnauthorizedClient, "the token was not issued to this client"))
		return
	}
	if oerr := s.provedPublic(client); oerr != nil {
		s.writeError(w, r, oerr)
		return
	}
	now := s.now()
	if t.Kind == store.KindRefresh {
		err = s.store.RevokeGrant(r.Context(), g.ID, now)
	} else {
		err = s.store.RevokeToken(r.Context(), hash, now)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, s.unavailable(r.Context(), "storage", err))
		return
	}
	s.metrics.revocations.WithLabelValues("client_" + string(t.Kind)).Inc()
	s.audit(r.Context(), "token revoked", "client_id", client.ID, "kind", string(t.Kind))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
