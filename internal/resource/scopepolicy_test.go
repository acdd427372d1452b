package resource_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func TestScopePolicy_MostSpecificRuleWins(t *testing.T) {
	p, err := resource.ParseScopePolicy([]string{"*=read", "delete_*=write", "delete_everything=write admin", "file:///secret/*=admin"})
	if err != nil {
		t.Fatal(err)
	}
	def := []string{"read"}
	for name, want := range map[string][]string{
		"list_notes":        {"read"},
		"delete_note":       {"write"},
		"delete_everything": {"write", "admin"},
		"delete_notes/all":  {"write"}, // in a name, * crosses a /
	} {
		if got := p.Need(name, def); !slices.Equal(got, want) {
			t.Errorf("Need(%q) = %v, want %v", name, got, want)
		}
	}
	for uri, want := range map[string][]string{
		"file:///secret/plans.txt": {"admin"},
		"file:///secret/a/b.txt":   {"read"}, // in a URI, * does not cross a /
	} {
		if got, err := p.NeedURI(uri, def); err != nil || !slices.Equal(got, want) {
			t.Errorf("NeedURI(%q) = %v, %v, want %v", uri, got, err, want)
		}
	}
	if got := (resource.ScopePolicy{}).Need("anything", def); !slices.Equal(got, def) {
		t.Errorf("an empty policy needs %v, want the default", got)
	}
	for _, bad := range []string{"nopattern", "=write", "[a-=write"} {
		if _, err := resource.ParseScopePolicy([]string{bad}); err == nil || !strings.Contains(err.Error(), "scope rule") {
			t.Errorf("ParseScopePolicy(%q) = %v", bad, err)
		}
	}
}

// A comma separates rules and spaces the scopes of one: "delete_*=write,
// admin" is refused (the second rule has no =), never read as one rule
// needing the scope "write,admin" or as a silently different one.
func TestScopePolicy_CommaSeparatesRules(t *testing.T) {
	p, err := resource.ParseScopePolicy([]string{"echo=write, get-sum=write admin", "list_*=read"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{"echo": {"write"}, "get-sum": {"write", "admin"}, "list_x": {"read"}, "other": {"def"}} {
		if got := p.Need(name, []string{"def"}); !slices.Equal(got, want) {
			t.Errorf("Need(%q) = %v, want %v", name, got, want)
		}
	}
	for _, bad := range []string{"delete_*=write,admin", "echo=write,,x=y", "echo=write,"} {
		if _, err := resource.ParseScopePolicy([]string{bad}); err == nil || !strings.Contains(err.Error(), "PATTERN=SCOPE") {
			t.Errorf("ParseScopePolicy(%q) = %v, want a refusal", bad, err)
		}
	}
}

// Prompts and resources of the team's own server take scope rules like
// tools: a request the token lacks scopes for gets 403 with the step-up
// challenge and never reaches the server.
func TestGateway_PromptAndResourcePolicies(t *testing.T) {
	t.Parallel()
	backend, _ := notesBackend(t)
	prompts, _ := resource.ParseScopePolicy([]string{"secret_*=admin"})
	resources, _ := resource.ParseScopePolicy([]string{"file:///private/*=write"})
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.Proxy, c.PromptPolicy, c.ResourcePolicy = backend.URL+"/mcp", prompts, resources
	}}, "read")
	mcpURL := stack.Resource.URL()
	id := initialize(t, mcpURL, tok)
	post := func(body string) *http.Response {
		return testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, mcpURL, tok, id, strings.NewReader(body)))
	}
	for _, c := range []struct{ body, scope string }{
		{`{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"secret_plan"}}`, `scope="read admin"`},
		{`{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///private/notes.txt"}}`, `scope="read write"`},
	} {
		if resp := post(c.body); resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), c.scope) {
			t.Errorf("%s: %d %q", c.body, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// Not named by a rule: the default scope suffices, the server answers.
	if resp := post(`{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"public_plan"}}`); resp.StatusCode != http.StatusOK {
		t.Errorf("a prompt no rule names: %d, want the server's 200", resp.StatusCode)
	}
}

// --hide-unauthorized: tools/list leaves out the tools the token lacks
// the scopes for, through the HTTP gateway and the stdio one alike.
func TestGateway_HideUnauthorizedTools(t *testing.T) {
	t.Parallel()
	backend, _ := notesBackend(t)
	writeOnly, _ := resource.ParseScopePolicy([]string{"delete_*=write", "crash=write"})
	for _, c := range []struct {
		name   string
		mutate func(*resource.Config)
		want   []string
	}{
		{"http", func(c *resource.Config) { c.Proxy = backend.URL + "/mcp" }, []string{"whoami_here"}},
		{"stdio", func(c *resource.Config) { c.Command = []string{os.Args[0], "stdio-mcp-server"} }, []string{"who"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(cfg *resource.Config) {
				c.mutate(cfg)
				cfg.ToolPolicy, cfg.HideUnauthorized = writeOnly, true
			}}, "read")
			mc, err := testkit.MCP(t, stack.Resource.URL(), tok, "2025-06-18", false)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			list, err := mc.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tool := range list.Tools {
				names = append(names, tool.Name)
			}
			if !slices.Equal(names, c.want) {
				t.Fatalf("tools/list with a read token: %v, want %v", names, c.want)
			}
		})
	}
}

// A resource rule matches every spelling of its resources: rules and URIs
// are compared normalised, an IPv6 host or a percent-encoded rule
// included, and ** covers everything below.
func TestScopePolicy_ResourceRulesMatchEverySpelling(t *testing.T) {
	p, err := resource.ParseScopePolicy([]string{"file:///private/**=admin", "http://[::1]/**=admin",
		"file:///docs/my%20doc.md=admin", "file:///docs/r%C3%A9sum%C3%A9.md=admin", "HTTPS://Example.COM:443/s/*=admin"})
	if err != nil {
		t.Fatal(err)
	}
	def := []string{"read"}
	for _, uri := range []string{
		"file:///private/a", "file:///private/a/b/c", "FILE://localhost/private/x", "file:///public/../private/y",
		"http://[::1]/secret", "http://[0:0:0:0:0:0:0:1]/secret", "http://[0000::0001]:80/x",
		"file:///docs/my%20doc.md", "file:///docs/r%C3%A9sum%C3%A9.md", "https://example.com/s/t", "https://EXAMPLE.com/s/%74",
	} {
		if got, err := p.NeedURI(uri, def); err != nil || !slices.Equal(got, []string{"admin"}) {
			t.Errorf("NeedURI(%q) = %v, %v, want admin", uri, got, err)
		}
	}
	for _, uri := range []string{"file:///public/a", "https://example.com/s/t/u", "http://[::2]/secret"} {
		if got, err := p.NeedURI(uri, def); err != nil || !slices.Equal(got, def) {
			t.Errorf("NeedURI(%q) = %v, %v, want the default", uri, got, err)
		}
	}
}
