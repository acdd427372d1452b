package flow

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// Grants flow test can sign in with.
const (
	GrantAuthorizationCode = "authorization_code"
	// GrantClientCredentials signs in as the client itself, without a
	// user or a browser (OAuth 2.1 §4.2; MCP's SEP-1046 for machines).
	GrantClientCredentials = "client_credentials"
)

// clientAssertionType is RFC 7523 §2.2's client authentication by JWT.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// LoadClientKey reads a PEM private key (EC or RSA, PKCS #8, SEC 1 or
// PKCS #1) for private_key_jwt client authentication.
func LoadClientKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseClientKey(data)
}

// ParseClientKey parses a PEM private key; see LoadClientKey.
func ParseClientKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM private key found")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, errors.New("the PEM block is not an EC or RSA private key")
}

// grantToken asks the token endpoint for tokens with form, for this
// resource and the scopes asked, and keeps them. A response without a
// scope granted what was asked (RFC 6749 §5.1).
func (r *runner) grantToken(ctx context.Context, form url.Values) (*tokenResponse, error) {
	form.Set("resource", r.prm.Resource)
	if len(r.asked) > 0 {
		form.Set("scope", oauth.JoinScope(r.asked))
	}
	var t tokenResponse
	if err := r.tokenCall(ctx, form, &t); err != nil {
		return nil, err
	}
	if t.AccessToken == "" {
		return nil, errors.New("the token response has no access token")
	}
	r.access, r.refresh, r.scope = t.AccessToken, t.RefreshToken, oauth.ParseScope(t.Scope)
	if t.Scope == "" {
		r.scope = r.asked
	}
	return &t, nil
}

// clientCredentialsToken is the token step of a client_credentials run.
func (r *runner) clientCredentialsToken(ctx context.Context) (string, error) {
	if r.clientID == "" {
		return "", errors.New("the client_credentials grant needs a registered client: pass --client-id with --client-secret or --client-key")
	}
	if len(r.meta.GrantTypesSupported) > 0 && !slices.Contains(r.meta.GrantTypesSupported, GrantClientCredentials) {
		return "", errors.New("the authorization server does not list client_credentials in grant_types_supported")
	}
	t, err := r.grantToken(ctx, url.Values{"grant_type": {GrantClientCredentials}})
	if err != nil {
		return "", err
	}
	how := "client_secret_basic"
	if r.opts.ClientKey != nil {
		how = "private_key_jwt"
	} else if r.tokenAuthMethod() == oauth.AuthMethodPost {
		how = oauth.AuthMethodPost
	}
	return fmt.Sprintf("client_credentials as %s (%s), scope %q, expires in %ds", r.clientID, how, t.Scope, t.ExpiresIn), nil
}

// clientAssertion is a private_key_jwt assertion (RFC 7523 §3): issued by
// and about the client, for the authorization server, short-lived and
// single use.
func (r *runner) clientAssertion() (string, error) {
	alg := jose.ES256
	switch k := r.opts.ClientKey.(type) {
	case *rsa.PrivateKey:
		alg = jose.RS256
	case *ecdsa.PrivateKey:
		switch k.Curve.Params().BitSize {
		case 384:
			alg = jose.ES384
		case 521:
			alg = jose.ES512
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: r.opts.ClientKey}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	claims := jwt.Claims{Issuer: r.clientID, Subject: r.clientID, Audience: jwt.Audience{strings.TrimSuffix(r.meta.Issuer, "/")},
		ID: secrets.Random(16), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute))}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// GrantIDJAG is enterprise-managed authorization (MCP SEP-990): the user's
// ID token from the company's identity provider is exchanged there for an
// Identity Assertion JWT Authorization Grant (ID-JAG, RFC 8693), which the
// authorization server takes as a JWT bearer grant (RFC 7523 §2.1).
const GrantIDJAG = "id-jag"

const (
	grantJWTBearer   = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	tokenTypeIDToken = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeIDJAG   = "urn:ietf:params:oauth:token-type:id-jag"
)

// IdP names the identity provider of an id-jag run.
type IdP struct {
	TokenEndpoint string
	ClientID      string
	IDToken       string
}

// idJAGToken is the token step of an id-jag run.
func (r *runner) idJAGToken(ctx context.Context) (string, error) {
	idp := r.opts.IdP
	if idp.TokenEndpoint == "" || idp.IDToken == "" {
		return "", errors.New("the id-jag grant needs --idp-token-endpoint and --idp-id-token")
	}
	exchange := url.Values{"grant_type": {oauth.GrantTokenExchange}, "subject_token": {idp.IDToken},
		"subject_token_type": {tokenTypeIDToken}, "requested_token_type": {tokenTypeIDJAG},
		"audience": {strings.TrimSuffix(r.meta.Issuer, "/")}, "resource": {r.prm.Resource}}
	if len(r.asked) > 0 {
		exchange.Set("scope", oauth.JoinScope(r.asked))
	}
	var jag struct {
		AccessToken     string `json:"access_token"`
		IssuedTokenType string `json:"issued_token_type"`
	}
	err := r.fetch(ctx, oauth.Call{URL: idp.TokenEndpoint, Form: exchange,
		Client: oauth.ClientCredentials{ID: idp.ClientID, Method: oauth.AuthMethodNone}}, &jag)
	if err != nil {
		return "", fmt.Errorf("the identity provider's token exchange: %w", err)
	}
	if jag.AccessToken == "" || jag.IssuedTokenType != tokenTypeIDJAG {
		return "", fmt.Errorf("the identity provider issued %q, not an ID-JAG", jag.IssuedTokenType)
	}
	if _, err := r.grantToken(ctx, url.Values{"grant_type": {grantJWTBearer}, "assertion": {jag.AccessToken}}); err != nil {
		return "", err
	}
	return fmt.Sprintf("ID-JAG from the identity provider, then a JWT bearer grant as %s", r.clientID), nil
}
