package upstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/jwks"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// Claims are what a verified token or the userinfo endpoint says of the
// user.
type Claims map[string]any

// String is a string claim, or "".
func (c Claims) String(name string) string {
	switch v := c[name].(type) {
	case string:
		return v
	case float64: // a JSON number, like GitHub's numeric user id
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// Strings is a claim holding a list of strings, or one string.
func (c Claims) Strings(name string) []string {
	switch v := c[name].(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// DefaultGroupsClaim is where providers commonly list a user's groups.
const DefaultGroupsClaim = "groups"

// VerifyFunc checks a JWT from the provider and returns its claims.
type VerifyFunc func(ctx context.Context, raw string) (*jwks.Claims, error)

// ErrIDTokenRefused wraps every reason a verified ID token is still not
// taken for this sign-in (OpenID Connect Core §3.1.3.7): a refusal, not
// a fault.
var ErrIDTokenRefused = errors.New("the provider's ID token is not for this sign-in")

// Identify establishes who signed in: from the verified ID token (or
// TaskManager's JWT access token), with the userinfo endpoint filling in
// what the token does not say (OpenID Connect Core §5.3). The userinfo
// answer must be about the same subject (§5.3.2). An OpenID provider's
// ID token is required (§3.1.3.3) and must be this sign-in's: nonceHash
// is the secrets.Hash of the nonce AuthorizeURL sent.
func (c *Client) Identify(ctx context.Context, tok *Token, nonceHash string, verify VerifyFunc) (*User, error) {
	raw := tok.IDToken
	if c.cfg.OpenID && raw == "" {
		return nil, fmt.Errorf("%w: the provider's token answer has no ID token", ErrIDTokenRefused)
	}
	if !c.cfg.OpenID && jwks.LooksLikeJWT(tok.AccessToken) {
		raw = tok.AccessToken // TaskManager's JWT access tokens name the user
	}
	var claims Claims
	if raw != "" {
		verified, err := verify(ctx, raw)
		if err != nil {
			return nil, err
		}
		if raw == tok.IDToken {
			if err := c.checkIDToken(verified, nonceHash); err != nil {
				return nil, err
			}
		}
		claims = verified.All // every claim: the username and groups claims are settings
	}
	if claims != nil && (!c.lacksClaims(claims) || c.cfg.UserinfoEndpoint == "") {
		return c.user(claims)
	}
	info, err := c.userInfoClaims(ctx, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if claims == nil {
		return c.user(info)
	}
	if info.String("sub") != claims.String("sub") {
		return nil, fmt.Errorf("%w: the userinfo answer is about subject %q, the token about %q",
			ErrUnavailable, info.String("sub"), claims.String("sub"))
	}
	if _, ok := claims["email_verified"]; !ok && info["email"] != nil {
		// An address and whether it was verified come from one answer.
		delete(claims, "email")
	}
	for k, v := range info {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return c.user(claims)
}

// checkIDToken applies OpenID Connect Core §3.1.3.7 beyond signature,
// issuer, audience and lifetime: an ID token naming several audiences
// must name tmcp as its authorized party, an azp must be tmcp's client
// id (items 4, 5), and an OpenID provider's must carry the nonce this
// sign-in sent (item 11).
func (c *Client) checkIDToken(t *jwks.Claims, nonceHash string) error {
	azp, hasAZP := t.All["azp"]
	if s, _ := azp.(string); hasAZP && s != c.cfg.ClientID {
		return fmt.Errorf("%w: it was issued to another party (azp %q, not tmcp's client id)", ErrIDTokenRefused, fmt.Sprint(azp))
	}
	if len(t.Audience) > 1 && !hasAZP {
		return fmt.Errorf("%w: it names %d audiences and no authorized party (azp)", ErrIDTokenRefused, len(t.Audience))
	}
	if !c.cfg.OpenID {
		return nil // no nonce was sent
	}
	nonce, _ := t.All["nonce"].(string)
	switch {
	case nonce == "":
		return fmt.Errorf("%w: it carries no nonce", ErrIDTokenRefused)
	case nonceHash == "" || !secrets.Equal(secrets.Hash(nonce), nonceHash):
		return fmt.Errorf("%w: its nonce is not the one this sign-in sent", ErrIDTokenRefused)
	}
	return nil
}

// lacksClaims says whether the token leaves out a claim tmcp was told to
// use, so userinfo must be asked.
func (c *Client) lacksClaims(claims Claims) bool {
	if claims.String(c.usernameClaims()[0]) == "" {
		return true
	}
	if _, ok := claims["email_verified"]; !ok && claims["email"] != nil && !c.cfg.ProviderVerifiesEmail {
		return true // userinfo may say whether the address was verified
	}
	if c.cfg.GroupsClaim != "" {
		_, ok := claims[c.cfg.GroupsClaim]
		return !ok
	}
	return false
}

// usernameClaims is where the username comes from, in order of preference.
func (c *Client) usernameClaims() []string {
	if c.cfg.UsernameClaim != "" {
		return []string{c.cfg.UsernameClaim}
	}
	return []string{"email", "preferred_username", "username", "sub"}
}

// verifiedEmail is the claims' address when the provider verified it:
// email_verified is the JSON boolean true (OpenID Connect Core §5.1; the
// string "true" is no boolean), or absent from a provider the operator
// vouched for (Config.ProviderVerifiesEmail).
func (c *Client) verifiedEmail(claims Claims) string {
	email, _ := claims["email"].(string)
	if !strings.Contains(email, "@") {
		return ""
	}
	verified, present := claims["email_verified"]
	if verified == true || !present && c.cfg.ProviderVerifiesEmail {
		return email
	}
	return ""
}

func (c *Client) user(claims Claims) (*User, error) {
	u := &User{Subject: claims.String("sub"), Email: c.verifiedEmail(claims), Name: claims.String("name")}
	if u.Subject == "" {
		return nil, fmt.Errorf("%w: the provider named no subject (sub)", ErrUnavailable)
	}
	if name := c.cfg.UsernameClaim; name != "" {
		u.Username = claims.String(name)
		// The operator's choice is matched as given; an address counts
		// only when verified, as Email.
		u.UsernameChosen = name != "email"
	} else {
		// OpenID Connect Core §5.7: only sub identifies the user; many
		// providers let users choose preferred_username, so it is shown,
		// never taken for an address nor matched.
		for _, name := range []string{u.Email, claims.String("preferred_username"), claims.String("username"), u.Subject} {
			if u.Username = name; name != "" {
				break
			}
		}
	}
	if u.Username == "" {
		return nil, fmt.Errorf("%w: the provider's answer has no %q claim (--username-claim)", ErrUnavailable, c.cfg.UsernameClaim)
	}
	groups := c.cfg.GroupsClaim
	if groups == "" {
		groups = DefaultGroupsClaim
	}
	u.Groups = claims.Strings(groups)
	return u, nil
}

// userInfoClaims asks the userinfo endpoint; for GitHub, its /user API,
// with the primary verified address from /user/emails when the profile
// shows none.
func (c *Client) userInfoClaims(ctx context.Context, accessToken string) (Claims, error) {
	if c.cfg.UserinfoEndpoint == "" {
		return nil, fmt.Errorf("%w: the provider has no userinfo endpoint and its token does not name the user", ErrUnavailable)
	}
	var info Claims
	if err := c.call(ctx, oauth.Call{URL: c.Endpoint(c.cfg.UserinfoEndpoint), Bearer: accessToken}, &info); err != nil {
		return nil, err
	}
	if c.cfg.EmailsEndpoint == "" {
		return info, nil
	}
	// GitHub: a numeric id, a login and maybe no public email. Its
	// profile says nothing of verification: the address is the primary
	// one /user/emails marks verified.
	info["sub"], info["preferred_username"] = info.String("id"), info.String("login")
	delete(info, "email_verified")
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	err := c.call(ctx, oauth.Call{URL: c.Endpoint(c.cfg.EmailsEndpoint), Bearer: accessToken}, &emails)
	var refused *Error
	if err != nil && !errors.As(err, &refused) {
		return nil, err
	}
	for _, e := range emails {
		if e.Primary && e.Verified {
			info["email"], info["email_verified"] = e.Email, true
		}
	}
	return info, nil
}
