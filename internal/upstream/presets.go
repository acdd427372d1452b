package upstream

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// PresetOptions are the few values a preset cannot know.
type PresetOptions struct {
	// Tenant is Entra ID's directory (tenant) id or domain.
	Tenant string
	// Audience is the API Auth0 issues access tokens for.
	Audience string
}

// presets fill in what a provider needs beyond its issuer URL; providers
// that need nothing more (Keycloak, Okta, ZITADEL, Dex…) take
// --upstream-issuer alone.
var presets = map[string]func(cfg *Config, o PresetOptions) error{
	// GitHub has no discovery, no ID token and no userinfo endpoint:
	// identity comes from its REST API.
	"github": func(cfg *Config, _ PresetOptions) error {
		cfg.Issuer, cfg.BaseURL = "", "https://github.com"
		cfg.AuthorizeEndpoint = "https://github.com/login/oauth/authorize"
		cfg.TokenEndpoint = "https://github.com/login/oauth/access_token"
		cfg.UserinfoEndpoint = "https://api.github.com/user"
		cfg.EmailsEndpoint = "https://api.github.com/user/emails"
		cfg.JWKSEndpoint, cfg.ClientsEndpoint = "", ""
		cfg.AuthMethod = "client_secret_post" // as GitHub documents it
		if cfg.Scopes == nil {
			cfg.Scopes = &ScopeMap{Always: []string{"read:user", "user:email"}}
		}
		return nil
	},
	// Google issues a refresh token only for access_type=offline, and
	// again after the first consent only with prompt=consent; it does not
	// know the offline_access scope.
	"google": func(cfg *Config, _ PresetOptions) error {
		setIssuer(cfg, "https://accounts.google.com")
		cfg.AuthParams.Set("access_type", "offline")
		cfg.AuthParams.Set("prompt", "consent")
		return nil
	},
	// Entra ID's issuer names the tenant; "common" and "organizations"
	// have no single issuer to check ID tokens against.
	"entra": func(cfg *Config, o PresetOptions) error {
		switch strings.ToLower(o.Tenant) {
		case "":
			return fmt.Errorf("the entra preset needs --upstream-tenant (the directory id or domain, like contoso.onmicrosoft.com)")
		case "common", "organizations", "consumers":
			return fmt.Errorf("--upstream-tenant %s has no single issuer; name one directory (its id or domain)", o.Tenant)
		}
		setIssuer(cfg, "https://login.microsoftonline.com/"+url.PathEscape(o.Tenant)+"/v2.0")
		return nil
	},
	// Auth0 issues JWT access tokens for an API only when asked with
	// its audience.
	"auth0": func(cfg *Config, o PresetOptions) error {
		if cfg.Issuer == "" {
			return fmt.Errorf("the auth0 preset needs --upstream-issuer https://YOUR-TENANT.auth0.com/")
		}
		if o.Audience != "" {
			cfg.AuthParams.Set("audience", o.Audience)
		}
		return nil
	},
}

// Presets lists the preset names.
func Presets() []string {
	out := make([]string, 0, len(presets))
	for name := range presets {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// ApplyPreset fills cfg for a known provider; "" does nothing.
func ApplyPreset(cfg *Config, name string, o PresetOptions) error {
	if name == "" {
		if o.Tenant != "" || o.Audience != "" {
			return fmt.Errorf("--upstream-tenant and --upstream-audience go with --upstream-preset")
		}
		return nil
	}
	apply, ok := presets[name]
	if !ok {
		return fmt.Errorf("unknown upstream preset %q (known: %s)", name, strings.Join(Presets(), ", "))
	}
	if cfg.AuthParams == nil {
		cfg.AuthParams = url.Values{}
	}
	return apply(cfg, o)
}

func setIssuer(cfg *Config, issuer string) {
	if cfg.Issuer == "" {
		cfg.Issuer = issuer
	}
}
