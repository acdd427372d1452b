package gateway

import (
	"net/http"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/forward"
)

// strippedHeaders never reach the backend from the MCP client: its
// credentials, and anything a server or the framework under it may take
// for who the user is or where the request came from.
var strippedHeaders = forward.Excluding("Authorization", "DPoP", "Cookie", "Origin", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host",
	"X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Ssl", "X-Real-Ip",
	"X-Original-Url", "X-Original-Uri", "X-Rewrite-Url", "X-Client-Ip", "True-Client-Ip", "X-Remote-User", "Remote-User",
	"Accept-Encoding",           // answers come back plain, so tools can be left out of them
	"Traceparent", "Tracestate", // the gateway's own span is the backend's parent
	HeaderUser, HeaderEmail, HeaderClientID, HeaderScopes, HeaderIdentity)

// excluded is what of h does not reach the backend: strippedHeaders, and
// the look-alikes of such headers. Most requests have none, and share
// strippedHeaders.
func excluded(h http.Header) forward.Fields {
	var extra []string
	for name := range h {
		if !strippedHeaders[name] && lookalike(name) {
			extra = append(extra, name)
		}
	}
	if extra == nil {
		return strippedHeaders
	}
	out := make(forward.Fields, len(strippedHeaders)+len(extra))
	for k := range strippedHeaders {
		out[k] = true
	}
	for _, k := range extra {
		out[k] = true
	}
	return out
}

// identityPrefixes begin the headers that servers, proxies and
// frameworks commonly take for who the user is (oauth2-proxy's
// X-Auth-Request-*, Gitea's X-Webauth-*, …) or where the request came
// from.
var identityPrefixes = []string{"x-forwarded-", "x-tmcp-", "x-auth-request-", "x-webauth-", "x-authenticated-",
	"x-remote-", "remote-", "x-user", "x-email", "x-original-", "x-real-"}

// lookalike reports whether a header name may be read as a stripped one,
// or as another claim of who the user is: any name with '_' (CGI, WSGI
// and Rack read X_Forwarded_User as X-Forwarded-User), or one of
// identityPrefixes.
func lookalike(name string) bool {
	if strings.IndexByte(name, '_') >= 0 {
		return true
	}
	// Compared in place, without a lowered copy: this runs for every
	// header of every request.
	for _, p := range identityPrefixes {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return true
		}
	}
	return false
}
