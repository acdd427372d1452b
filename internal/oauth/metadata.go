package oauth

import (
	"fmt"
	"net/url"
	"strings"
)

// ServerMetadata is the RFC 8414 authorization server metadata document.
type ServerMetadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	RegistrationEndpoint                       string   `json:"registration_endpoint,omitempty"`
	RevocationEndpoint                         string   `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint,omitempty"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint,omitempty"`
	JWKSURI                                    string   `json:"jwks_uri,omitempty"`
	ScopesSupported                            []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported,omitempty"`
	GrantTypesSupported                        []string `json:"grant_types_supported,omitempty"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported,omitempty"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
	ClientIDMetadataDocumentSupported          bool     `json:"client_id_metadata_document_supported,omitempty"`
	SubjectTypesSupported                      []string `json:"subject_types_supported,omitempty"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported,omitempty"`
	ServiceDocumentation                       string   `json:"service_documentation,omitempty"`
	// RFC 9449 §5.1.
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
}

// ProtectedResourceMetadata is the RFC 9728 document.
type ProtectedResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers,omitempty"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	ResourceName           string   `json:"resource_name,omitempty"`
	ResourceDocumentation  string   `json:"resource_documentation,omitempty"`
}

// Well-known suffixes (RFC 8414 §3, OpenID Connect Discovery §4, RFC 9728 §3).
const (
	WellKnownAuthorizationServer = "/.well-known/oauth-authorization-server"
	WellKnownOpenIDConfiguration = "/.well-known/openid-configuration"
	WellKnownProtectedResource   = "/.well-known/oauth-protected-resource"
)

// MetadataPaths lists the request paths at which the metadata of an issuer
// is served: RFC 8414 §3.1 inserts the well-known suffix between host and
// path; OpenID Connect Discovery appends it to the issuer. An issuer without
// a path has only the two plain forms.
func MetadataPaths(issuer string) []string {
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil
	}
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	if p == "" {
		return []string{WellKnownAuthorizationServer, WellKnownOpenIDConfiguration}
	}
	return []string{
		WellKnownAuthorizationServer + p,
		WellKnownOpenIDConfiguration + p,
		p + WellKnownOpenIDConfiguration,
	}
}

// MetadataURLs are the absolute URLs of MetadataPaths, in the order MCP
// clients try them; an issuer that is not an absolute URL has none.
func MetadataURLs(issuer string) ([]string, error) {
	paths := MetadataPaths(issuer)
	if len(paths) == 0 {
		return nil, fmt.Errorf("issuer %q is not an absolute URL", issuer)
	}
	u, _ := url.Parse(issuer)
	out := make([]string, len(paths))
	for i, p := range paths {
		v := *u
		v.Path, v.RawPath, v.RawQuery, v.Fragment = p, "", "", ""
		out[i] = v.String()
	}
	return out, nil
}

// ValidResourceIndicator applies RFC 8707 §2: an absolute URI without a
// fragment.
func ValidResourceIndicator(r string) bool {
	u, err := url.Parse(r)
	return err == nil && u.IsAbs() && u.Host != "" && u.Fragment == "" && !strings.Contains(r, "#")
}

// SameResource compares resource indicators, ignoring one trailing slash,
// which clients add or drop inconsistently.
func SameResource(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}
