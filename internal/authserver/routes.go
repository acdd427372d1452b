package authserver

import (
	"net/http"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/status"
	"github.com/tmcp-dev/tmcp/internal/web"
)

// Request bodies are small forms or registration JSON.
const maxBody = 64 << 10

// Paths of the endpoints, relative to the issuer.
const (
	pathAuthorize  = "/oauth/authorize"
	pathConsent    = "/oauth/consent"
	pathToken      = "/oauth/token"
	pathCallback   = "/oauth/callback"
	pathRegister   = "/register"
	pathRevoke     = "/revoke"
	pathIntrospect = "/introspect"
	pathJWKS       = "/.well-known/jwks.json"
)

// routes is the one routing table.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	p := s.prefix
	for _, path := range oauth.MetadataPaths(s.cfg.Issuer) {
		mux.HandleFunc("GET "+path, s.corsPublic(s.metadata))
		mux.HandleFunc("OPTIONS "+path, s.corsPublic(s.metadata))
	}
	mux.Handle("GET "+p+"/assets/", http.StripPrefix(p, web.Assets()))
	mux.HandleFunc("GET "+p+pathAuthorize, s.limited(s.limits.authorize, s.authorize))
	mux.HandleFunc("POST "+p+pathConsent, s.limited(s.limits.authorize, s.consent))
	mux.HandleFunc("GET "+p+pathCallback, s.callback)
	token := s.tokenEndpoint()
	for path, h := range map[string]http.HandlerFunc{
		pathToken: token, "/token": token,
		pathRegister: s.limitedBy(s.limits.register, s.clientNetwork, s.register), pathRevoke: s.limited(s.limits.revoke, s.revoke),
	} {
		mux.HandleFunc("POST "+p+path, s.corsAPI(h))
		mux.HandleFunc("OPTIONS "+p+path, s.corsAPI(h))
	}
	config := s.withCORS(s.originAllowed, "GET, PUT, DELETE", s.limited(s.limits.revoke, s.clientConfig))
	for _, method := range []string{"GET", "PUT", "DELETE", "OPTIONS"} {
		mux.HandleFunc(method+" "+p+pathRegister+"/{id}", config)
	}
	mux.HandleFunc("POST "+p+pathIntrospect, s.introspect) // limited by address only when unauthenticated
	// The 2025-03-26 MCP revision's default paths, for clients that skip
	// metadata discovery.
	mux.HandleFunc("GET "+p+"/authorize", s.limited(s.limits.authorize, s.authorize))
	mux.HandleFunc("GET "+p+"/healthz", s.healthz)
	mux.HandleFunc("GET "+p+"/{$}", s.home)
	// Served in both token formats: identity assertions are signed with
	// the same keys (metadata names it only for JWT access tokens, whose
	// readiness it proves).
	mux.HandleFunc("GET "+p+pathJWKS, s.jwks)
	mux.HandleFunc("GET "+p+"/readyz", s.readyz)
	// /status stays here too, for doctor and flow test on another
	// machine: it answers only this machine or introspection credentials.
	// /metrics is on the ops listener only (OpsHandler).
	mux.HandleFunc("GET "+p+status.Path, s.serveStatus)
	return httpx.Log(s.log, s.metrics.Metrics, httpx.LimitBody(maxBody, mux))
}

// healthz is the process's liveness: it touches nothing outside, so a
// frozen database or TaskManager never makes it hang or restarts the
// process (that is /readyz's job to report).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// home is what a person who opens the issuer URL sees (tmcp dev's banner
// links it): what this server is and where MCP clients find it.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	urls, _ := oauth.MetadataURLs(s.cfg.Issuer)
	meta := ""
	if len(urls) > 0 {
		meta = urls[0]
	}
	s.pages.Render(w, "notice", http.StatusOK, web.Page{Brand: "tmcp", Title: "tmcp authorization server", AssetPrefix: s.prefix,
		Message: "MCP clients find this server through its metadata at " + meta + " and send you here to sign in with your " +
			s.upstreamName() + " account. There is nothing to do on this page.",
		Detail: "Issuer " + s.cfg.Issuer + " · tokens for " + s.resourceList() + " · health " + s.cfg.Issuer + "/healthz, readiness /readyz"})
}

func (s *Server) resourceList() string {
	var out []string
	for _, r := range s.cfg.Resources {
		out = append(out, r.Resource)
	}
	return strings.Join(out, ", ")
}
