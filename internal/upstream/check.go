package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// ErrClientRefused is the provider refusing tmcp's own client: a wrong id
// or secret, or a client deleted there.
var ErrClientRefused = errors.New("the provider refuses tmcp's client")

// ErrProviderFailing is the provider answering with a failure of its own
// (5xx, server_error, temporarily_unavailable); it comes wrapped with
// ErrUnavailable.
var ErrProviderFailing = errors.New("the provider answered with a failure of its own")

// CheckClient redeems a code that cannot exist, with tmcp's client
// credentials: invalid_grant (or any refusal of the code) shows the client
// authenticated; invalid_client that it did not, which ErrClientRefused
// reports. A provider that cannot be reached, fails (5xx, server_error,
// temporarily_unavailable) or answers something else gives an error
// wrapping ErrUnavailable: that decides nothing.
func (c *Client) CheckClient(ctx context.Context) error {
	method := c.cfg.AuthMethod
	if method != oauth.AuthMethodPost {
		method = oauth.AuthMethodBasic
	}
	a, err := oauth.Do(ctx, c.http, oauth.Call{
		URL: c.Endpoint(c.cfg.TokenEndpoint),
		Form: url.Values{"grant_type": {oauth.GrantAuthorizationCode}, "code": {"tmcp-startup-check-" + secrets.Random(8)},
			"redirect_uri": {c.cfg.RedirectURL}, "code_verifier": {secrets.Random(32)}},
		Client: oauth.ClientCredentials{ID: c.cfg.ClientID, Secret: c.cfg.ClientSecret, Method: method},
		Header: http.Header{"Accept": {"application/json"}}, // GitHub answers forms otherwise
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err) // keeps oauth.ErrUnreachable for callers that tell it apart
	}
	var oe oauth.Error
	_ = json.Unmarshal(a.Body, &oe)
	switch {
	// A provider that fails refuses nothing: its answer decides nothing.
	case oauth.Failing(a.Status, oe.Code):
		return fmt.Errorf("%w: %w (HTTP %d %s)", ErrUnavailable, ErrProviderFailing, a.Status, oe.Code)
	// GitHub says incorrect_client_credentials, with status 200.
	case oe.Code == oauth.CodeInvalidClient || oe.Code == "incorrect_client_credentials" || a.Status == http.StatusUnauthorized:
		return fmt.Errorf("%w (HTTP %d %s)", ErrClientRefused, a.Status, oe.Code)
	case oe.Code != "":
		return nil // the code was refused, so the client was known
	}
	return fmt.Errorf("%w: the token endpoint answered %d without an OAuth error to a code that cannot exist", ErrUnavailable, a.Status)
}
