package authserver

import (
	"context"
	"errors"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// A refresh token names its family: after the random part come the
// grant's id and a MAC of it under a key derived from the encryption key.
// The sweep deletes a rotated token's row once its grace has passed, and
// a replay of it is still reuse (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2): the
// family it names is revoked. Only a holder of one of the family's tokens
// can name it, so nobody else can revoke a family this way.

// newRefreshToken mints a refresh token of grant grantID's family.
func (s *Server) newRefreshToken(grantID string) string {
	return secrets.NewToken(secrets.PrefixRefreshToken) + "." + grantID + "." + s.familyMAC(grantID)
}

func (s *Server) familyMAC(grantID string) string {
	return secrets.MAC(s.familyKey, "refresh family", grantID)[:22]
}

// refreshFamily is the grant a refresh token names, when its MAC holds.
// Tokens minted before tokens named their family name none.
func (s *Server) refreshFamily(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, secrets.PrefixRefreshToken)
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 || parts[1] == "" || !secrets.Equal(parts[2], s.familyMAC(parts[1])) {
		return "", false
	}
	return parts[1], true
}

// replayedRefresh answers a refresh token whose row is gone. One that
// names its family was rotated and swept: its replay revokes the family,
// as a replay of a stored used token would.
func (s *Server) replayedRefresh(ctx context.Context, client *store.Client, token string) *oauth.Error {
	grantID, ok := s.refreshFamily(token)
	if !ok {
		return oauth.InvalidGrant("the refresh token is unknown")
	}
	g, err := s.store.GetGrant(ctx, grantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return oauth.InvalidGrant("the refresh token has expired")
	case err != nil:
		return s.unavailable(ctx, "storage", err)
	case g.ClientID != client.ID:
		return oauth.InvalidGrant("the refresh token was issued to another client")
	case !g.RevokedAt.IsZero():
		return oauth.InvalidGrant("the refresh token was revoked")
	}
	if err := s.store.RevokeGrant(ctx, g.ID, s.now()); err != nil {
		return s.unavailable(ctx, "storage", err)
	}
	s.metrics.revocations.WithLabelValues("refresh_reuse").Inc()
	s.audit(ctx, "token family revoked", "reason", "refresh token reused", "client_id", client.ID, "sub", g.Subject)
	s.log.WarnContext(ctx, "refresh token reused; token family revoked", "client_id", client.ID, "sub", g.Subject)
	return oauth.InvalidGrant("the refresh token was already used; every token of this grant is revoked")
}
