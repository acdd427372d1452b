package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// Discover reads an OpenID Connect or RFC 8414 provider's metadata, so
// tmcp can front any standards-compliant provider: the OpenID location
// first (issuer + /.well-known/openid-configuration), then RFC 8414's
// (path inserted). The metadata's issuer must be the one asked for
// (RFC 8414 §3.3, OpenID Discovery §4.3).
func Discover(ctx context.Context, issuer string, hc *http.Client) (*oauth.ServerMetadata, error) {
	if hc == nil {
		hc = oauth.NewHTTPClient(10 * time.Second)
	}
	issuer = strings.TrimSuffix(issuer, "/")
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("upstream issuer %q is not an absolute URL", issuer)
	}
	urls, err := oauth.MetadataURLs(issuer)
	if err != nil {
		return nil, err
	}
	candidates := []string{issuer + oauth.WellKnownOpenIDConfiguration, urls[0]}
	var errs []error
	c := &Client{http: hc}
	for _, cand := range candidates {
		var m oauth.ServerMetadata
		if err := c.call(ctx, oauth.Call{URL: cand}, &m); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cand, err))
			continue
		}
		switch {
		case strings.TrimSuffix(m.Issuer, "/") != issuer:
			return nil, fmt.Errorf("%s names issuer %q, not %q", cand, m.Issuer, issuer)
		case m.AuthorizationEndpoint == "" || m.TokenEndpoint == "":
			return nil, fmt.Errorf("%s has no authorization or token endpoint", cand)
		case len(m.CodeChallengeMethodsSupported) > 0 && !slices.Contains(m.CodeChallengeMethodsSupported, oauth.MethodS256):
			return nil, fmt.Errorf("the upstream provider does not support PKCE S256, which tmcp uses")
		}
		return &m, nil
	}
	return nil, fmt.Errorf("cannot discover the upstream provider's metadata: %w", errors.Join(errs...))
}

// ApplyMetadata fills cfg's endpoints from discovered metadata.
func ApplyMetadata(cfg *Config, m *oauth.ServerMetadata) {
	cfg.BaseURL = strings.TrimSuffix(m.Issuer, "/")
	cfg.AuthorizeEndpoint, cfg.TokenEndpoint = m.AuthorizationEndpoint, m.TokenEndpoint
	if m.UserinfoEndpoint != "" {
		cfg.UserinfoEndpoint = m.UserinfoEndpoint
	}
	if m.JWKSURI != "" {
		cfg.JWKSEndpoint = m.JWKSURI
	}
	if slices.Contains(m.ScopesSupported, "openid") {
		cfg.OpenID = true
		cfg.OfflineAccess = cfg.OfflineAccess || slices.Contains(m.ScopesSupported, "offline_access")
	}
	methods := m.TokenEndpointAuthMethodsSupported
	if cfg.AuthMethod == "" && len(methods) > 0 && !slices.Contains(methods, oauth.AuthMethodBasic) && slices.Contains(methods, oauth.AuthMethodPost) {
		cfg.AuthMethod = oauth.AuthMethodPost
	}
}
