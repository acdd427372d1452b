package authserver_test

import (
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/sandbox"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// TestUpstreamIssuer_DiscoversAnyOIDCProvider fronts the sandbox as a
// generic OpenID provider: only its issuer is configured, every
// TaskManager path is wrong, and the sign-in works through the /oidc/
// endpoints its discovery document names.
func TestUpstreamIssuer_DiscoversAnyOIDCProvider(t *testing.T) {
	t.Parallel()
	logs := &testkit.LogBuffer{}
	stack := testkit.StartStack(t, testkit.AuthOptions{
		Log:           logs,
		MutateSandbox: func(c *sandbox.Config) { c.Discovery = true },
		Mutate: func(c *authserver.Config) {
			c.Upstream.AuthorizeEndpoint, c.Upstream.TokenEndpoint = "/wrong/authorize", "/wrong/token"
			c.Upstream.UserinfoEndpoint, c.Upstream.JWKSEndpoint = "/wrong/userinfo", "/wrong/jwks"
		},
		DiscoverUpstream: true,
	})
	c := stack.PublicClient(t)
	authz := c.AuthorizeURL(nil)
	b := testkit.NewBrowser(t, c.RedirectURI)
	back := testkit.SignIn(t, b, authz.URL)
	if status, tok := c.Exchange(back.Query().Get("code"), authz.Verifier); status != 200 {
		t.Fatalf("sign-in through a discovered provider: %d %v (callback %s)", status, tok, back)
	}
	if !strings.Contains(logs.String(), `authorize=`+stack.Sandbox.URL()+`/oidc/authorize`) {
		t.Fatalf("the discovered endpoints were not used:\n%s", logs.String())
	}
}

func TestUpstreamIssuer_DiscoveryFailureStopsStartup(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	cfg := stack.Config
	cfg.Listener = nil
	cfg.Addr = "127.0.0.1:0"
	cfg.Upstream.Issuer = stack.Sandbox.URL() // the sandbox without --discovery
	if _, err := authserver.New(cfg); err == nil || !strings.Contains(err.Error(), "cannot discover the upstream provider's metadata") {
		t.Fatalf("New = %v", err)
	}
}
