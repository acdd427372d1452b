package resource

import (
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// allowHosts refuses requests whose Host is not this server's: a browser
// page on another site cannot reach a local MCP server through DNS
// rebinding. The public URL's host, and loopback names on the listening
// port, are allowed.
func (s *Server) allowHosts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(s.hosts, strings.ToLower(r.Host)) {
			s.log.InfoContext(r.Context(), "request for a foreign host refused", "host", r.Host)
			http.Error(w, "unknown host", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) allowedHosts() []string {
	hosts := append([]string{}, s.cfg.AllowedHosts...)
	if u := s.publicURL; u != nil {
		hosts = append(hosts, u.Host)
	}
	if addr, ok := s.ln.Addr().(*net.TCPAddr); ok {
		port := addr.Port
		for _, h := range []string{"localhost", "127.0.0.1", "[::1]"} {
			hosts = append(hosts, net.JoinHostPort(strings.Trim(h, "[]"), strconv.Itoa(port)))
		}
	}
	for i, h := range hosts {
		hosts[i] = strings.ToLower(h)
	}
	return hosts
}

// cors lets browser-based MCP clients call the server from the allowed
// origins, and refuses every request from any other (MCP transports: an
// invalid Origin gets 403, against DNS rebinding). Tokens travel in
// headers, never cookies, so credentials are not allowed.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && !s.originAllowed(origin) {
			http.Error(w, "requests from the origin "+origin+" are not allowed (--allowed-origin)", http.StatusForbidden)
			return
		}
		if origin != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version, DPoP-Nonce")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, DPoP")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed matches origin against the allowed list: "*", an exact
// origin, or one with any port ("http://localhost:*"). The server's own
// origin is always allowed.
func (s *Server) originAllowed(origin string) bool {
	origin = strings.ToLower(origin)
	if origin == strings.ToLower(s.publicURL.Scheme+"://"+s.publicURL.Host) {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		o = strings.ToLower(o)
		if o == "*" || o == origin {
			return true
		}
		if base, ok := strings.CutSuffix(o, ":*"); ok {
			if rest, ok := strings.CutPrefix(origin, base+":"); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
				return true
			}
		}
	}
	return false
}
