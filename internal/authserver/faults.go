package authserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/tmcp-dev/tmcp/internal/jwks"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// A fault is not a verdict: when storage or TaskManager cannot be asked,
// tmcp answers 503 temporarily_unavailable with Retry-After and keeps
// every grant; only a definite answer (not found, expired, revoked,
// refused) becomes an OAuth error that ends something.

// retryAfter is the Retry-After of every fault answer, in seconds.
const retryAfter = "5"

// unavailable logs err and answers the fault.
func (s *Server) unavailable(ctx context.Context, what string, err error) *oauth.Error {
	s.log.ErrorContext(ctx, what+" failed", "err", err)
	e := oauth.NewError(oauth.CodeTemporarilyUnavailable, what+" is unavailable right now; try again shortly")
	e.RetryAfter = retryAfter
	return e
}

// unavailablePage is the browser's answer to a fault.
func (s *Server) unavailablePage(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.ErrorContext(r.Context(), what+" failed", "err", err)
	w.Header().Set("Retry-After", retryAfter)
	s.errorPage(w, http.StatusServiceUnavailable, "Try again in a moment", "The server cannot reach its "+what+" right now.",
		"Nothing was changed. Reload this page in a few seconds, or start the sign-in again from your MCP client.")
}

// upstreamRefusesGrant reports whether TaskManager's answer to a refresh
// ends the grant: only invalid_grant does. invalid_client is the
// operator's problem (tmcp's own credentials), and anything else — 5xx,
// temporarily_unavailable, server_error, a timeout, garbage — is a fault.
func upstreamRefusesGrant(err error) bool {
	var ue *upstream.Error
	return errors.As(err, &ue) && ue.Code == oauth.CodeInvalidGrant
}

// upstreamFailure is the MCP client's answer when the sign-in at
// TaskManager failed, naming what failed.
func upstreamFailure(err error) *oauth.Error {
	if errors.Is(err, jwks.ErrTokenRejected) {
		return oauth.ServerError("TaskManager's token failed verification; check JWT_ISSUER and TaskManager's JWKS")
	}
	var ue *upstream.Error
	switch {
	case errors.As(err, &ue) && (ue.Code == oauth.CodeInvalidClient || ue.Status == http.StatusUnauthorized):
		return oauth.ServerError("TaskManager refused tmcp's client (" + orStatus(ue) + "); check tmcp's client id and secret at TaskManager")
	case errors.As(err, &ue) && ue.Code == oauth.CodeInvalidGrant:
		return oauth.ServerError("TaskManager refused the code (invalid_grant); check the redirect URI of tmcp's client at TaskManager, then sign in again")
	case errors.As(err, &ue) && ue.Status >= 500:
		e := oauth.NewError(oauth.CodeTemporarilyUnavailable, "TaskManager failed ("+orStatus(ue)+"); try again shortly")
		e.RetryAfter = retryAfter
		return e
	case errors.As(err, &ue):
		return oauth.ServerError("TaskManager refused the sign-in (" + orStatus(ue) + ")")
	}
	e := oauth.NewError(oauth.CodeTemporarilyUnavailable, "TaskManager is unreachable or answered something unexpected; try again shortly")
	e.RetryAfter = retryAfter
	return e
}

func orStatus(ue *upstream.Error) string {
	if ue.Code != "" {
		return ue.Code
	}
	return "HTTP " + http.StatusText(ue.Status)
}
