package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/internal/cli"
	"github.com/tmcp-dev/tmcp/internal/cli/client/list"
	"github.com/tmcp-dev/tmcp/internal/cli/client/register"
	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/dev"
	"github.com/tmcp-dev/tmcp/internal/cli/doctor"
	flowtest "github.com/tmcp-dev/tmcp/internal/cli/flow/test"
	"github.com/tmcp-dev/tmcp/internal/cli/keys/rotate"
	mcpdelete "github.com/tmcp-dev/tmcp/internal/cli/mcpclients/delete"
	mcplist "github.com/tmcp-dev/tmcp/internal/cli/mcpclients/list"
	"github.com/tmcp-dev/tmcp/internal/cli/migrate"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/auth"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/resource"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/sandbox"
	"github.com/tmcp-dev/tmcp/internal/cli/tokens/revoke"
	"github.com/tmcp-dev/tmcp/internal/ui"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// parse runs cmd with args under a root that carries the persistent flags,
// as the real tree does, and returns what its run function received.
func parse[O any](t *testing.T, newCmd func(*cmdutil.Factory, func(context.Context, *O) error) *cobra.Command, args ...string) *O {
	t.Helper()
	return parseWithInput(t, "", newCmd, args...)
}

// parseWithInput is parse with stdin on standard input.
func parseWithInput[O any](t *testing.T, stdin string, newCmd func(*cmdutil.Factory, func(context.Context, *O) error) *cobra.Command, args ...string) *O {
	t.Helper()
	io, _, _ := ui.Test()
	io.In = strings.NewReader(stdin)
	f := &cmdutil.Factory{IO: io}
	var got *O
	cmd := newCmd(f, func(_ context.Context, o *O) error { got = o; return nil })
	root := &cobra.Command{Use: "tmcp", SilenceErrors: true, SilenceUsage: true}
	root.PersistentFlags().String("config", "", "")
	root.AddCommand(cmd)
	root.SetArgs(append([]string{cmd.Name()}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("%s %v: %v", cmd.Name(), args, err)
	}
	if got == nil {
		t.Fatalf("%s %v: the run function was not called", cmd.Name(), args)
	}
	return got
}

func isolate(t *testing.T) string {
	state := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", state)
	return filepath.Join(state, "tmcp")
}

func want[T any](t *testing.T, what string, got, exp T) {
	t.Helper()
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s = %#v, want %#v", what, got, exp)
	}
}

func TestOptions_ServeAuth(t *testing.T) {
	isolate(t)
	t.Setenv("TASKMANAGER_CLIENT_SECRET", "from-env")
	o := parse(t, auth.NewCmd, "--port", "9100", "--client-id", "c1", "--taskmanager-url", "http://tm.test/",
		"--scope", "read,write", "--access-ttl", "15m", "--cors-origin", "https://a.test", "--cors-origin", "https://b.test",
		"--taskmanager-client-lookup", "--store", "/tmp/x.db", "--rate-limit", "7", "--resource", "https://mcp.test/mcp")
	cfg := o.Settings.Server
	want(t, "Addr", cfg.Addr, "localhost:9100")
	want(t, "Issuer", cfg.Issuer, "http://localhost:9100")
	want(t, "upstream client", cfg.Upstream.ClientID+"/"+cfg.Upstream.ClientSecret, "c1/from-env")
	want(t, "upstream base", cfg.Upstream.BaseURL, "http://tm.test")
	want(t, "DefaultScope", cfg.DefaultScope, []string{"read", "write"})
	want(t, "ScopesSupported", cfg.ScopesSupported, []string{"read", "write"})
	want(t, "AccessTTL", cfg.AccessTTL, 15*time.Minute)
	want(t, "RefreshTTL", cfg.RefreshTTL, 720*time.Hour)
	want(t, "CORSOrigins", cfg.CORSOrigins, []string{"https://a.test", "https://b.test"})
	want(t, "ClientLookup", cfg.ClientLookup, true)
	want(t, "PerIP", cfg.Limits.PerIP, 7)
	want(t, "AllRegistrations (default)", cfg.Limits.AllRegistrations, 1000)
	want(t, "TokenFormat", cfg.TokenFormat, "opaque")
	want(t, "resource", cfg.Resources[0].Resource, "https://mcp.test/mcp")
	want(t, "StorePath", o.Settings.StorePath, "/tmp/x.db")
	if o.Logger == nil || len(cfg.EncryptionKey) != 32 || cfg.Resources[0].ClientSecret == "" {
		t.Error("logger, encryption key or generated introspection secret missing")
	}
}

func TestOptions_ServeAuthOtherProvider(t *testing.T) {
	isolate(t)
	o := parse(t, auth.NewCmd, "--client-id", "c1", "--client-secret", "s1", "--upstream-preset", "entra",
		"--upstream-tenant", "contoso.onmicrosoft.com", "--upstream-scope", "write=api://tasks/write",
		"--username-claim", "preferred_username", "--groups-claim", "roles",
		"--allowed-domains", "contoso.com,fabrikam.com", "--allowed-users", "ops@partner.example", "--allowed-groups", "mcp")
	cfg := o.Settings.Server
	want(t, "issuer", cfg.Upstream.Issuer, "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0")
	want(t, "scope map", cfg.Upstream.Scopes.PerScope["write"], []string{"api://tasks/write"})
	want(t, "username claim", cfg.Upstream.UsernameClaim, "preferred_username")
	want(t, "groups claim", cfg.Upstream.GroupsClaim, "roles")
	want(t, "domains", cfg.Admission.Domains, []string{"contoso.com", "fabrikam.com"})
	want(t, "users", cfg.Admission.Users, []string{"ops@partner.example"})
	want(t, "groups", cfg.Admission.Groups, []string{"mcp"})

	want(t, "provider verifies email", cfg.Upstream.ProviderVerifiesEmail, false) // unverified unless the operator says so

	gh := parse(t, auth.NewCmd, "--client-id", "c1", "--client-secret", "s1", "--upstream-preset", "github").Settings.Server.Upstream
	want(t, "github authorize", gh.AuthorizeEndpoint, "https://github.com/login/oauth/authorize")
	want(t, "github auth method", gh.AuthMethod, "client_secret_post")
}

// The operator's word that TaskManager issues only verified addresses:
// a flag, or TMCP_PROVIDER_VERIFIES_EMAIL.
func TestOptions_ProviderVerifiesEmail(t *testing.T) {
	isolate(t)
	o := parse(t, auth.NewCmd, "--client-id", "c1", "--client-secret", "s1", "--provider-verifies-email")
	want(t, "flag", o.Settings.Server.Upstream.ProviderVerifiesEmail, true)
	t.Setenv("TMCP_PROVIDER_VERIFIES_EMAIL", "true")
	o = parse(t, auth.NewCmd, "--client-id", "c1", "--client-secret", "s1")
	want(t, "environment", o.Settings.Server.Upstream.ProviderVerifiesEmail, true)
}

func TestOptions_ServeResource(t *testing.T) {
	isolate(t)
	t.Setenv("MCP_RESOURCE_PORT", "8101")
	t.Setenv("TMCP_AUTH_SCOPES_SUPPORTED", "read write admin")
	o := parse(t, resource.NewCmd, "--auth-server", "http://as.test", "--transport", "sse", "--cache-ttl", "0",
		"--introspection-client-secret", "s3cret-long-enough", "--allowed-host", "mcp.internal")
	cfg := o.Config
	want(t, "Addr", cfg.Addr, "localhost:8101")
	want(t, "Resource", cfg.Resource, "http://localhost:8101/mcp")
	want(t, "AuthServerURL", cfg.AuthServerURL, "http://as.test")
	want(t, "Transport", cfg.Transport, "sse")
	want(t, "CacheTTL", cfg.CacheTTL, time.Duration(0))
	want(t, "ClientSecret", cfg.ClientSecret, "s3cret-long-enough")
	want(t, "ScopesSupported", cfg.ScopesSupported, []string{"read", "write", "admin"})
	want(t, "DefaultScope", cfg.DefaultScope, []string{"read"})
	want(t, "AllowedOrigins", cfg.AllowedOrigins, []string{"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"})
	want(t, "AllowedHosts", cfg.AllowedHosts, []string{"mcp.internal"})
}

// --admin-session-cookie - reads the cookie from standard input as the
// flag takes it: the value alone, or name=value.
func TestOptions_AdminSessionCookieFromStandardInput(t *testing.T) {
	isolate(t)
	for _, in := range []string{"abc123\n", "session=abc123\n", "  session=abc123  \r\n"} {
		o := parseWithInput(t, in, auth.NewCmd, "--admin-session-cookie", "-")
		want(t, "cookie from "+strconv.Quote(in), o.Settings.AdminSession, upstream.Session{CookieName: "session", Value: "abc123"})
	}
	o := parseWithInput(t, "tm_session=xyz\n", auth.NewCmd, "--admin-session-cookie", "-", "--cookie-name", "tm_session")
	want(t, "cookie with --cookie-name", o.Settings.AdminSession, upstream.Session{CookieName: "tm_session", Value: "xyz"})
	flag := parse(t, auth.NewCmd, "--admin-session-cookie", "session=abc123")
	want(t, "cookie from the flag", flag.Settings.AdminSession, upstream.Session{CookieName: "session", Value: "abc123"})
}

// Identity assertions are for the MCP server behind the resource server:
// --assertion-audience, else resource.proxy from the same configuration,
// else none; with auth.resource_servers, each one's assertion_audiences.
func TestOptions_AssertionAudiences(t *testing.T) {
	isolate(t)
	aud := func(o *auth.Options) []string { return o.Settings.Server.Resources[0].AssertionAudiences }
	want(t, "by default", aud(parse(t, auth.NewCmd)), []string(nil))
	t.Setenv("TMCP_RESOURCE_PROXY", "http://127.0.0.1:3000/mcp")
	want(t, "from resource.proxy", aud(parse(t, auth.NewCmd)), []string{"http://127.0.0.1:3000/mcp"})
	want(t, "--assertion-audience over resource.proxy", aud(parse(t, auth.NewCmd, "--assertion-audience", "https://notes.internal/mcp")),
		[]string{"https://notes.internal/mcp"})
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("auth:\n  resource_servers:\n    - resource: https://a.test/mcp\n      client_id: a\n      client_secret: a-secret-of-16-chars\n"+
		"      assertion_audiences: http://10.0.0.5:3000/mcp, http://10.0.0.6:3000/mcp\n    - resource: https://b.test/mcp\n      client_id: b\n      client_secret: b-secret-of-16-chars\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rs := parse(t, auth.NewCmd, "--config", file).Settings.Server.Resources
	want(t, "resource_servers' own", [][]string{rs[0].AssertionAudiences, rs[1].AssertionAudiences},
		[][]string{{"http://10.0.0.5:3000/mcp", "http://10.0.0.6:3000/mcp"}, nil})
}

func TestOptions_ServeSandbox(t *testing.T) {
	state := isolate(t)
	o := parse(t, sandbox.NewCmd, "--port", "4400", "--client-id", "tmcp", "--client-secret", "x", "--jwt-access-tokens")
	cfg := o.Config
	want(t, "Addr", cfg.Addr, "localhost:4400")
	want(t, "RedirectURIs", cfg.RedirectURIs, []string{"http://localhost:9000/oauth/callback"})
	want(t, "DBPath", cfg.DBPath, filepath.Join(state, "sandbox.db"))
	want(t, "JWTAccessTokens", cfg.JWTAccessTokens, true)
	want(t, "FailedLogins", cfg.FailedLogins, 10)
}

func TestOptions_Dev(t *testing.T) {
	isolate(t)
	o := parse(t, dev.NewCmd, "--sandbox-port", "4500", "--auth-port", "9500", "--resource-port", "8500")
	want(t, "sandbox", o.Sandbox.Addr, "localhost:4500")
	want(t, "sandbox redirect", o.Sandbox.RedirectURIs, []string{"http://localhost:9500/oauth/callback"})
	want(t, "auth upstream", o.Auth.Server.Upstream.BaseURL, "http://localhost:4500")
	want(t, "auth client", o.Auth.Server.Upstream.ClientID, o.Sandbox.ClientID)
	want(t, "auth secret", o.Auth.Server.Upstream.ClientSecret, o.Sandbox.ClientSecret)
	want(t, "auth resource", o.Auth.Server.Resources[0].Resource, "http://localhost:8500/mcp")
	want(t, "dev registration limit", o.Auth.Server.Limits.Registrations, 0)
	want(t, "resource auth server", o.Resource.AuthServerURL, "http://localhost:9500")
	want(t, "introspection secret", o.Resource.ClientSecret, o.Auth.Server.Resources[0].ClientSecret)
	withProxy := parse(t, dev.NewCmd, "--proxy", "http://127.0.0.1:3000/mcp", "--identity-assertion")
	want(t, "dev --proxy: the assertion audience", withProxy.Auth.Server.Resources[0].AssertionAudiences, []string{"http://127.0.0.1:3000/mcp"})
}

func TestOptions_ClientRegister(t *testing.T) {
	isolate(t)
	o := parse(t, register.NewCmd, "--session-cookie", "session=abc", "--client-name", "Prod", "--scope", "read", "--save")
	want(t, "cookie", o.Session.CookieName+"="+o.Session.Value, "session=abc")
	want(t, "Name", o.Name, "Prod")
	want(t, "Scopes", o.Scopes, []string{"read"})
	want(t, "RedirectURIs", o.RedirectURIs, []string{"http://localhost:9000/oauth/callback"})
	want(t, "Save", o.Save, true)
	if !strings.HasSuffix(o.ConfigFile, filepath.Join("tmcp", "config.yaml")) {
		t.Errorf("ConfigFile = %s", o.ConfigFile)
	}
}

func TestOptions_ClientList(t *testing.T) {
	isolate(t)
	o := parse(t, list.NewCmd, "--session-cookie", "abc", "--cookie-name", "tm_session", "-o", "json")
	want(t, "cookie", o.Session.CookieName+"="+o.Session.Value, "tm_session=abc")
	want(t, "Output", o.Output, "json")
}

func TestOptions_FlowTest(t *testing.T) {
	isolate(t)
	t.Setenv("MCP_SERVER_PORT", "8600")
	t.Setenv("MCP_TRANSPORT_TYPE", "sse")
	o := parse(t, flowtest.NewCmd, "--callback-port", "0", "--no-browser", "--timeout", "30s", "--scope", "read write")
	want(t, "Server", o.Flow.Server, "http://localhost:8600/mcp")
	want(t, "SSE", o.Flow.SSE, true)
	want(t, "CallbackPort", o.Flow.CallbackPort, 0)
	want(t, "NoBrowser", o.Flow.NoBrowser, true)
	want(t, "Timeout", o.Flow.Timeout, 30*time.Second)
	want(t, "Scope", o.Flow.Scope, "read write")
}

func TestOptions_Doctor(t *testing.T) {
	isolate(t)
	o := parse(t, doctor.NewCmd, "--client-id", "c", "--client-secret", "s", "--mcp-server", "https://mcp.test/mcp",
		"--auth-server", "https://as.test/", "--origin", "https://app.test")
	want(t, "client", o.Doctor.Upstream.ClientID+"/"+o.Doctor.Upstream.ClientSecret, "c/s")
	want(t, "AuthServer", o.Doctor.AuthServer, "https://as.test")
	want(t, "MCPServer", o.Doctor.MCPServer, "https://mcp.test/mcp")
	want(t, "Origin", o.Doctor.Origin, "https://app.test")
	want(t, "ResourceClientID", o.Doctor.ResourceClientID, "tmcp-resource")
}

func TestOptions_OperatorCommands(t *testing.T) {
	isolate(t)
	// None of them opens the store before it runs.
	if o := parse(t, migrate.NewCmd, "--store", "postgres://nowhere.invalid/x"); o.Store == nil {
		t.Error("migrate: no store opener")
	}
	if o := parse(t, rotate.NewCmd); o.Store == nil || o.Key == nil {
		t.Error("keys rotate: no store opener or key")
	}
	o := parse(t, revoke.NewCmd, "--client", "c9")
	want(t, "revoke", o.User+"|"+o.Client, "|c9")
	want(t, "mcp-clients list output", parse(t, mcplist.NewCmd, "-o", "json").Output, "json")
	want(t, "mcp-clients delete id", parse(t, mcpdelete.NewCmd, "tmcp_ci_x").ClientID, "tmcp_ci_x")
}

// Every flag tied to a setting names its environment variable in --help.
func TestFlags_HelpNamesEnvironment(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "auth", "--help"}, "tmcp's OAuth client id at TaskManager [env: TASKMANAGER_CLIENT_ID]"},
		{[]string{"serve", "auth", "--help"}, "port the auth server listens on [env: TMCP_AUTH_PORT] (default 9000)"},
		{[]string{"serve", "resource", "--help"}, "[env: MCP_RESOURCE_PORT] (default 8001)"},
		{[]string{"serve", "resource", "--help"}, "--introspection-client-secret string"},
		{[]string{"flow", "test", "--help"}, "[env: MCP_TRANSPORT_TYPE]"},
		{[]string{"dev", "--help"}, "--auth-port int"},
	} {
		io, out, _ := ui.Test()
		root := cliRoot(io)
		root.SetArgs(c.args)
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%v: no %q in\n%s", c.args, c.want, out)
		}
	}
}

func cliRoot(io *ui.IO) *cobra.Command { return cli.NewRootCmd(&cmdutil.Factory{IO: io}) }
