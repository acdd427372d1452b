package authserver

import (
	"net/http"
	"slices"
	"strings"
)

// Browser-based MCP clients (such as MCP Inspector) call the metadata,
// registration, token and revocation endpoints from another origin. Those
// endpoints authenticate with explicit credentials, never cookies, so CORS
// never allows credentials. The authorize, consent and callback pages are
// navigations and get no CORS headers at all.

// corsPublic allows any origin: the metadata is the same for everyone.
func (s *Server) corsPublic(next http.HandlerFunc) http.HandlerFunc {
	return s.withCORS(func(string) bool { return true }, "GET", next)
}

// corsAPI allows the configured origins ("*" for any).
func (s *Server) corsAPI(next http.HandlerFunc) http.HandlerFunc {
	return s.withCORS(s.originAllowed, "POST", next)
}

func (s *Server) originAllowed(origin string) bool {
	return slices.ContainsFunc(s.cfg.CORSOrigins, func(o string) bool { return o == "*" || strings.EqualFold(o, origin) })
}

func (s *Server) withCORS(allowed func(string) bool, method string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		if origin != "" && allowed(origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, DPoP-Nonce")
		}
		if r.Method == http.MethodOptions {
			if origin == "" || !allowed(origin) || r.Header.Get("Access-Control-Request-Method") == "" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			h.Set("Access-Control-Allow-Methods", method+", OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, MCP-Protocol-Version, DPoP")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next(w, r)
	}
}
