package authserver

import (
	"net/http"

	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// Metadata is the RFC 8414 document this server publishes.
func (s *Server) Metadata() oauth.ServerMetadata {
	authMethods := []string{oauth.AuthMethodBasic, oauth.AuthMethodPost, oauth.AuthMethodNone}
	jwksURI := ""
	if s.cfg.TokenFormat == FormatJWT {
		jwksURI = s.endpoint(pathJWKS)
	}
	return oauth.ServerMetadata{
		JWKSURI:                                    jwksURI,
		Issuer:                                     s.cfg.Issuer,
		AuthorizationEndpoint:                      s.endpoint(pathAuthorize),
		TokenEndpoint:                              s.endpoint(pathToken),
		RegistrationEndpoint:                       s.endpoint(pathRegister),
		RevocationEndpoint:                         s.endpoint(pathRevoke),
		IntrospectionEndpoint:                      s.endpoint(pathIntrospect),
		ScopesSupported:                            s.cfg.ScopesSupported,
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query"},
		GrantTypesSupported:                        s.grants.Types(),
		TokenEndpointAuthMethodsSupported:          authMethods,
		RevocationEndpointAuthMethodsSupported:     authMethods,
		IntrospectionEndpointAuthMethodsSupported:  []string{oauth.AuthMethodBasic, oauth.AuthMethodPost},
		CodeChallengeMethodsSupported:              []string{oauth.MethodS256},
		AuthorizationResponseIssParameterSupported: true,
		ClientIDMetadataDocumentSupported:          true,
		DPoPSigningAlgValuesSupported:              dpop.AlgNames(),
	}
}

// metadata serves the document at every discovery path.
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	oauth.WriteJSONBody(w, http.StatusOK, s.Metadata())
}
