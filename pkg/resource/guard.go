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

// cors lets browser-based MCP clients call the server from other origins.
// Tokens travel in headers, never cookies, so credentials are not allowed.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && s.originAllowed(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) originAllowed(origin string) bool {
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}
