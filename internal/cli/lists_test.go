package cli_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/auth"
	serveresource "github.com/tmcp-dev/tmcp/internal/cli/serve/resource"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/sandbox"
	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// listCase is one list setting: entries as an operator writes them (one
// per repeated flag), the command that reads them, and the parsed value
// they must give.
type listCase struct {
	key     string
	entries []string
	read    func(t *testing.T, args ...string) any
	want    any
}

func authList(get func(*serve.Auth) any) func(*testing.T, ...string) any {
	return func(t *testing.T, args ...string) any { return get(parse(t, auth.NewCmd, args...).Settings) }
}

func resourceList(get func(*resource.Config) any) func(*testing.T, ...string) any {
	return func(t *testing.T, args ...string) any { return get(&parse(t, serveresource.NewCmd, args...).Config) }
}

func mustPolicy(t *testing.T, rules ...string) resource.ScopePolicy {
	p, err := resource.ParseScopePolicy(rules)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Every list setting gives the same configuration from a flag (repeated,
// or one comma-separated value), from each of its environment variables
// (commas) and from the config file (a YAML list, or one comma-separated
// string): TMCP_RESOURCE_TOOL_SCOPES="echo=write,get-sum=write" is two
// rules, TMCP_AUTH_REGISTRATION_REDIRECT_SCHEMES=cursor,windsurf two
// schemes.
func TestConfig_ListSettingsReadAlikeFromEverySource(t *testing.T) {
	cases := []listCase{
		{config.KeyAuthScopes, []string{"read", "write", "admin"},
			authList(func(a *serve.Auth) any { return a.Server.ScopesSupported }), []string{"read", "write", "admin"}},
		{config.KeyTMScope, []string{"read", "write"},
			authList(func(a *serve.Auth) any { return a.Server.DefaultScope }), []string{"read", "write"}},
		{config.KeyTMScopeMap, []string{"openid email", "read=tasks.read tasks.list", "write=tasks.write"},
			authList(func(a *serve.Auth) any { return a.Server.Upstream.Scopes }),
			&upstream.ScopeMap{Always: []string{"openid", "email"}, PerScope: map[string][]string{"read": {"tasks.read", "tasks.list"}, "write": {"tasks.write"}}}},
		{config.KeyAuthCORSOrigins, []string{"https://a.test", "https://b.test"},
			authList(func(a *serve.Auth) any { return a.Server.CORSOrigins }), []string{"https://a.test", "https://b.test"}},
		{config.KeyAuthRegSchemes, []string{"cursor", "windsurf"},
			authList(func(a *serve.Auth) any { return a.Server.Registration.RedirectSchemes }), []string{"cursor", "windsurf"}},
		{config.KeyAuthTrustedProxy, []string{"10.0.0.0/8", "192.168.1.0/24"},
			authList(func(a *serve.Auth) any { return a.Server.TrustedProxies }),
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.0/24")}},
		{config.KeyAuthAssertionAud, []string{"http://127.0.0.1:3000/mcp", "https://notes.internal/mcp"},
			authList(func(a *serve.Auth) any { return a.Server.Resources[0].AssertionAudiences }),
			[]string{"http://127.0.0.1:3000/mcp", "https://notes.internal/mcp"}},
		{config.KeyAuthAllowUsers, []string{"ops@partner.example", "Jane Doe"},
			authList(func(a *serve.Auth) any { return a.Server.Admission.Users }), []string{"ops@partner.example", "Jane Doe"}},
		{config.KeyAuthAllowDomains, []string{"contoso.com", "fabrikam.com"},
			authList(func(a *serve.Auth) any { return a.Server.Admission.Domains }), []string{"contoso.com", "fabrikam.com"}},
		{config.KeyAuthAllowGroups, []string{"mcp", "Domain Users"},
			authList(func(a *serve.Auth) any { return a.Server.Admission.Groups }), []string{"mcp", "Domain Users"}},
		{config.KeyResourceOrigins, []string{"https://app.test", "http://localhost:*"},
			resourceList(func(c *resource.Config) any { return c.AllowedOrigins }), []string{"https://app.test", "http://localhost:*"}},
		{config.KeyResourceHosts, []string{"mcp.internal", "mcp.example.com"},
			resourceList(func(c *resource.Config) any { return c.AllowedHosts }), []string{"mcp.internal", "mcp.example.com"}},
		{config.KeyResourceToolScope, []string{"echo=write", "get-sum=write admin"},
			resourceList(func(c *resource.Config) any { return c.ToolPolicy }), mustPolicy(t, "echo=write", "get-sum=write admin")},
		{config.KeyResourcePromptSc, []string{"secret_*=admin", "plan=read write"},
			resourceList(func(c *resource.Config) any { return c.PromptPolicy }), mustPolicy(t, "secret_*=admin", "plan=read write")},
		{config.KeyResourceResSc, []string{"file:///secret/*=admin", "file:///notes/*=read"},
			resourceList(func(c *resource.Config) any { return c.ResourcePolicy }), mustPolicy(t, "file:///secret/*=admin", "file:///notes/*=read")},
		{config.KeyResourceStdioEnv, []string{"NODE_ENV=production", "HTTPS_PROXY", "NOTES_DIR=/srv/notes dir"},
			resourceList(func(c *resource.Config) any { return c.StdioEnv }), []string{"NODE_ENV=production", "HTTPS_PROXY", "NOTES_DIR=/srv/notes dir"}},
		{config.KeySandboxRedirectURIs, []string{"http://localhost:9000/oauth/callback", "http://127.0.0.1:9000/oauth/callback"},
			func(t *testing.T, args ...string) any { return parse(t, sandbox.NewCmd, args...).Config.RedirectURIs },
			[]string{"http://localhost:9000/oauth/callback", "http://127.0.0.1:9000/oauth/callback"}},
	}
	var covered []string
	for _, tc := range cases {
		covered = append(covered, tc.key)
	}
	slices.Sort(covered)
	if !slices.Equal(covered, config.Lists()) {
		t.Fatalf("the table covers %v; the list settings are %v", covered, config.Lists())
	}
	for _, tc := range cases {
		s := config.Lookup(tc.key)
		joined := strings.Join(tc.entries, ",")
		ways := map[string]func(t *testing.T) []string{}
		if s.Flag != "" {
			ways["flag comma-separated"] = func(*testing.T) []string { return []string{"--" + s.Flag, joined} }
			if _, slice := s.Default.([]string); slice {
				ways["flag repeated"] = func(*testing.T) []string {
					var args []string
					for _, e := range tc.entries {
						args = append(args, "--"+s.Flag, e)
					}
					return args
				}
			}
		}
		for _, env := range s.Env() {
			ways["env "+env] = func(t *testing.T) []string { t.Setenv(env, joined); return nil }
		}
		yamlList, _ := json.Marshal(tc.entries)
		yamlString, _ := json.Marshal(joined)
		for what, value := range map[string]string{"config file list": string(yamlList), "config file string": string(yamlString)} {
			ways[what] = func(t *testing.T) []string {
				section, leaf, _ := strings.Cut(tc.key, ".")
				file := filepath.Join(t.TempDir(), "config.yaml")
				if err := os.WriteFile(file, []byte(section+":\n  "+leaf+": "+value+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return []string{"--config", file}
			}
		}
		for what, set := range ways {
			t.Run(tc.key+"/"+what, func(t *testing.T) {
				isolate(t)
				want(t, tc.key+" from "+what, tc.read(t, set(t)...), tc.want)
			})
		}
	}
}
