package upstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tmcp-dev/tmcp/pkg/jwks"
	"github.com/tmcp-dev/tmcp/pkg/oauth"
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

// Identify establishes who signed in: from the verified ID token (or
// TaskManager's JWT access token), with the userinfo endpoint filling in
// what the token does not say (OpenID Connect Core §5.3). The userinfo
// answer must be about the same subject (§5.3.2).
func (c *Client) Identify(ctx context.Context, tok *Token, verify VerifyFunc) (*User, error) {
	raw := tok.IDToken
	if !c.cfg.OpenID && jwks.LooksLikeJWT(tok.AccessToken) {
		raw = tok.AccessToken // TaskManager's JWT access tokens name the user
	}
	var claims Claims
	if raw != "" {
		verified, err := verify(ctx, raw)
		if err != nil {
			return nil, err
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
	for k, v := range info {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return c.user(claims)
}

// lacksClaims says whether the token leaves out a claim tmcp was told to
// use, so userinfo must be asked.
func (c *Client) lacksClaims(claims Claims) bool {
	if claims.String(c.usernameClaims()[0]) == "" {
		return true
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

func (c *Client) user(claims Claims) (*User, error) {
	u := &User{Subject: claims.String("sub"), Email: claims.String("email"), Name: claims.String("name")}
	if u.Subject == "" {
		return nil, fmt.Errorf("%w: the provider named no subject (sub)", ErrUnavailable)
	}
	for _, name := range c.usernameClaims() {
		if u.Username = claims.String(name); u.Username != "" {
			break
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
	// GitHub: a numeric id, a login and maybe no public email.
	info["sub"], info["preferred_username"] = info.String("id"), info.String("login")
	if info.String("email") == "" {
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
				info["email"] = e.Email
			}
		}
	}
	return info, nil
}
