package authserver

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// Limits bound how fast one address or one client may call the server.
// Zero values turn a limit off.
type Limits struct {
	PerIP         int // requests a minute per client address, on each endpoint
	Registrations int // client registrations an hour per address (per /64 for IPv6)
	// AllRegistrations bounds client registrations an hour across all
	// addresses: however many addresses a flood comes from, the client
	// table grows at most this fast.
	AllRegistrations int
	PerClient        int // token requests a minute per client
	FailedAuth       int // failed client authentications a minute per address before it is refused
}

type limiters struct {
	authorize, token, register, introspect, revoke *httpx.Limiter
	perClient, failedAuth, allRegistrations        *httpx.Limiter
}

func newLimiters(l Limits) limiters {
	perIP := func() *httpx.Limiter { return httpx.NewLimiter(l.PerIP, time.Minute, l.PerIP/4) }
	return limiters{
		authorize: perIP(), token: perIP(), introspect: perIP(), revoke: perIP(),
		register:         httpx.NewLimiter(l.Registrations, time.Hour, max(1, l.Registrations/6)),
		perClient:        httpx.NewLimiter(l.PerClient, time.Minute, l.PerClient/4),
		failedAuth:       httpx.NewLimiter(l.FailedAuth, time.Minute, l.FailedAuth),
		allRegistrations: httpx.NewLimiter(l.AllRegistrations, time.Hour, max(1, l.AllRegistrations/6)),
	}
}

// limited answers 429 with Retry-After once the address has used its share.
func (s *Server) limited(l *httpx.Limiter, next http.HandlerFunc) http.HandlerFunc {
	return s.limitedBy(l, s.clientIP, next)
}

// limitedBy is limited with the share counted against key(r).
func (s *Server) limitedBy(l *httpx.Limiter, key func(*http.Request) string, next http.HandlerFunc) http.HandlerFunc {
	if l == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := l.Allow(key(r)); !ok {
			s.tooMany(w, r, wait, "too many requests from this address")
			return
		}
		next(w, r)
	}
}

func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, why string) {
	s.log.InfoContext(r.Context(), "rate limited", "path", r.URL.Path, "reason", why)
	e := oauth.NewError(oauth.CodeTemporarilyUnavailable, why+"; retry after "+httpx.RetryAfter(wait)+" s")
	e.Status, e.RetryAfter = http.StatusTooManyRequests, httpx.RetryAfter(wait)
	s.writeError(w, r, e)
}

// clientIP is the calling client's address (see Config.TrustedProxies).
func (s *Server) clientIP(r *http.Request) string { return httpx.ClientAddr(r, s.cfg.TrustedProxies) }

// clientNetwork is what registrations count against: an IPv4 client's
// address, an IPv6 client's /64. One IPv6 user is routinely given a whole
// /64 and can send from any of its 2^64 addresses.
func (s *Server) clientNetwork(r *http.Request) string {
	host := s.clientIP(r)
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if a = a.WithZone("").Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// failureKey is what failed authentications count against: one client id
// from one address, so that nobody's guesses lock out another client, nor
// the same client calling from elsewhere.
func (s *Server) failureKey(r *http.Request, clientID string) string {
	return clientID + "\x00" + s.clientIP(r)
}

// limitClient applies the per-client limit. It is called only once the
// request proved it holds something of the client's — its secret, or a
// valid code or refresh token of a public client — so that junk sent with
// a public client's id (which anyone knows) cannot drain it.
func (s *Server) limitClient(c string) *oauth.Error {
	if ok, wait := s.limits.perClient.Allow(c); !ok {
		e := oauth.NewError(oauth.CodeTemporarilyUnavailable, "too many requests for this client; retry after "+httpx.RetryAfter(wait)+" s")
		e.Status, e.RetryAfter = http.StatusTooManyRequests, httpx.RetryAfter(wait)
		return e
	}
	return nil
}
