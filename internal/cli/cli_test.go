package cli_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/testkit/selfsigned"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tmcp-dev/tmcp/internal/cli"
	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/sqlitefile"
	"github.com/tmcp-dev/tmcp/internal/testkit"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"tmcp": func() { os.Exit(cli.Execute()) },
		// mcpbackend PORT is a team's own MCP server (mcp-go) for the
		// gateway: its hello tool greets whoever the gateway says calls.
		"mcpbackend": func() {
			m := server.NewMCPServer("team-notes", "1.0.0")
			m.AddTool(mcp.NewTool("hello", mcp.WithDescription("greets the signed-in user")),
				func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					user, _ := ctx.Value(forwardedUser{}).(string)
					return mcp.NewToolResultText("hello " + user), nil
				})
			mux := http.NewServeMux()
			mux.Handle("/mcp", server.NewStreamableHTTPServer(m, server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
				return context.WithValue(ctx, forwardedUser{}, r.Header.Get("X-Forwarded-User"))
			})))
			mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
			fmt.Fprintln(os.Stderr, http.ListenAndServe("127.0.0.1:"+os.Args[1], mux))
			os.Exit(1)
		},
		// mcpstdio is the same server over stdio: it greets the user the
		// gateway started its process for.
		"mcpstdio": func() {
			m := server.NewMCPServer("team-notes-stdio", "1.0.0")
			m.AddTool(mcp.NewTool("hello", mcp.WithDescription("greets the signed-in user")),
				func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					return mcp.NewToolResultText("hello " + os.Getenv("TMCP_USER") + " from process " + strconv.Itoa(os.Getpid())), nil
				})
			// tmcpvars names the variables of tmcp's own settings it sees,
			// besides its user's identity; stdioenv what --stdio-env gave it.
			m.AddTool(mcp.NewTool("tmcpvars"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				var seen []string
				for _, kv := range os.Environ() {
					name, _, _ := strings.Cut(kv, "=")
					switch name {
					case "TMCP_USER", "TMCP_EMAIL", "TMCP_CLIENT_ID", "TMCP_SCOPES":
						continue
					}
					if strings.HasPrefix(name, "TMCP_") || strings.HasPrefix(name, "TASKMANAGER_") || strings.HasPrefix(name, "MCP_") {
						seen = append(seen, name)
					}
				}
				if len(seen) == 0 {
					return mcp.NewToolResultText("none"), nil
				}
				sort.Strings(seen)
				return mcp.NewToolResultText(strings.Join(seen, ",")), nil
			})
			m.AddTool(mcp.NewTool("stdioenv"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				_, home := os.LookupEnv("HOME")
				_, xdg := os.LookupEnv("XDG_STATE_HOME")
				return mcp.NewToolResultText(fmt.Sprintf("NOTES_DIR=%s HOME %v XDG_STATE_HOME %v", os.Getenv("NOTES_DIR"), home, xdg)), nil
			})
			if err := server.ServeStdio(m); err != nil {
				os.Exit(1)
			}
		},
		// fakebrowser URL plays the person at the browser ($BROWSER).
		"fakebrowser": func() {
			if err := testkit.SignInAs(os.Args[1]); err != nil {
				fmt.Fprintln(os.Stderr, "fakebrowser:", err)
				os.Exit(1)
			}
		},
	})
}

type forwardedUser struct{}

// TestScripts runs the real binary against real servers on loopback; see
// testdata/script for what each script checks.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, "state"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "config"))
			env.Setenv("NO_COLOR", "1")
			for _, name := range testkit.OpsEnv {
				env.Setenv(name, "127.0.0.1:0")
			}
			// $P1…$P6: ports free when the script starts.
			ports, err := testkit.FreePorts(6)
			if err != nil {
				return err
			}
			for i, p := range ports {
				env.Setenv(fmt.Sprintf("P%d", i+1), strconv.Itoa(p))
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"expand":       expand,
			"waitfor":      waitFor,
			"httpget":      httpGet,
			"httppost":     httpPost,
			"sandboxlogin": sandboxLogin,
			"gencert":      genCert,
			"sqlitelock":   sqliteLock,
			"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
				d, err := time.ParseDuration(strings.Join(args, ""))
				ts.Check(err)
				time.Sleep(d)
			},
		},
	})
}

// waitfor URL: wait up to 15 s for URL to answer 200.
func waitFor(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitfor URL")
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := scriptClient(ts).Get(args[0])
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if neg {
					ts.Fatalf("%s answered", args[0])
				}
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !neg {
		ts.Fatalf("%s did not answer within 15s", args[0])
	}
}

// sqlitelock FILE: hold the SQLite database FILE's write lock, as another
// process would, until the script ends; ! sqlitelock FILE lets it go.
func sqliteLock(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: [!] sqlitelock FILE")
	}
	path := ts.MkAbs(args[0])
	locksMu.Lock()
	defer locksMu.Unlock()
	if neg {
		if c, ok := locks[path]; ok {
			c.Close()
			delete(locks, path)
		}
		return
	}
	db, err := sqlitefile.Open(path)
	ts.Check(err)
	conn, err := db.Conn(context.Background())
	ts.Check(err)
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	ts.Check(err)
	release := func() { conn.ExecContext(context.Background(), "ROLLBACK"); conn.Close(); db.Close() }
	locks[path] = closer(release)
	ts.Defer(func() {
		locksMu.Lock()
		defer locksMu.Unlock()
		if c, ok := locks[path]; ok {
			c.Close()
			delete(locks, path)
		}
	})
}

type closer func()

func (c closer) Close() { c() }

var (
	locksMu sync.Mutex
	locks   = map[string]closer{}
)

// expand FILE: replace $VAR and ${VAR} in FILE with the script's
// environment (for ports in config files).
func expand(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: expand FILE")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(os.Expand(ts.ReadFile(args[0]), ts.Getenv)), 0o600))
}

// httpget URL: print the body to stdout; fail unless 200.
func httpGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: httpget URL")
	}
	resp, err := scriptClient(ts).Get(args[0])
	if err != nil {
		if neg {
			return
		}
		ts.Fatalf("GET %s: %v", args[0], err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Fprint(ts.Stdout(), string(body))
	if (resp.StatusCode == http.StatusOK) == neg {
		ts.Fatalf("GET %s: %d", args[0], resp.StatusCode)
	}
}

// httppost URL JSON: POST JSON to URL; print the status line and the
// body to stdout; fail unless 2xx.
func httpPost(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: httppost URL JSON")
	}
	resp, err := scriptClient(ts).Post(args[0], "application/json", strings.NewReader(args[1]))
	if err != nil {
		ts.Fatalf("POST %s: %v", args[0], err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(ts.Stdout(), "%s\n%s\n", resp.Status, body)
	if (resp.StatusCode/100 == 2) == neg {
		ts.Fatalf("POST %s: %d", args[0], resp.StatusCode)
	}
}

func TestRun_ExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"version"}, 0, ""},
		{[]string{"nosuch"}, 2, "unknown command"},
		{[]string{"serve", "auth", "--nosuch"}, 2, "unknown flag: --nosuch"},
		{[]string{"dev", "--auth-port", "0"}, 1, "auth.port must be a port between 1 and 65535, not 0"},
		{[]string{"serve", "resource", "--transport", "carrier-pigeon", "--state-dir", t.TempDir()}, 1, `unknown transport "carrier-pigeon"`},
		{[]string{"flow", "test", "--output", "xml"}, 2, `invalid argument "xml" for "-o, --output" flag: must be text or json`},
		{[]string{"serve", "auth", "extra"}, 2, `unexpected argument "extra" for "tmcp serve auth"`},
		{[]string{"serve", "nosuch"}, 2, `unknown command "nosuch" for "tmcp serve"`},
		{[]string{"serv"}, 2, `unknown command "serv" for "tmcp" (did you mean "serve"?)`},
		{[]string{"dev", "--registration-schem", "cursor"}, 2, `unknown flag: --registration-schem (did you mean --registration-scheme?)`},
		{[]string{"mcp-clients", "delete"}, 2, `"tmcp mcp-clients delete" takes 1 argument(s), got 0`},
		{[]string{"tokens", "revoke"}, 2, "give exactly one of --user or --client"},
		{[]string{"client", "list"}, 2, "--session-cookie is required"},
		{[]string{"serve", "auth", "--state-dir", t.TempDir()}, 1, "--client-id and --client-secret"},
		{[]string{"serve", "auth", "--log-level", "loud"}, 1, `log level "loud"`},
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no config file of the machine's
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			t.Setenv("TASKMANAGER_CLIENT_ID", "")
			io, _, errOut := ui.Test()
			code := cli.Run(context.Background(), &cmdutil.Factory{IO: io}, tc.args)
			if code != tc.code || !strings.Contains(errOut.String(), tc.err) {
				t.Fatalf("exit %d, stderr %q; want %d with %q", code, errOut, tc.code, tc.err)
			}
			if tc.code != 0 && strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
				t.Fatalf("the error is more than one line: %q", errOut)
			}
		})
	}
}

// sandboxlogin URL VAR: log in to the sandbox at URL as the demo user and
// put the session cookie's value in $VAR, as an operator copies it from
// the browser.
func sandboxLogin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sandboxlogin URL VAR")
	}
	cookie, err := testkit.SandboxSession(args[0])
	if err != nil {
		ts.Fatalf("%v", err)
	}
	ts.Setenv(args[1], cookie)
}

// scriptClient trusts the certificate gencert made, if any.
func scriptClient(ts *testscript.TestScript) *http.Client {
	pemData, err := os.ReadFile(filepath.Join(ts.Getenv("WORK"), "tls", "cert.pem"))
	if err != nil {
		return http.DefaultClient
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// gencert DIR: write a self-signed certificate for localhost and
// 127.0.0.1 as DIR/cert.pem and DIR/key.pem.
func genCert(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: gencert DIR")
	}
	_, _, _, err := selfsigned.Write(ts.MkAbs(args[0]))
	ts.Check(err)
}

// Every bad setting stops the server at start with one line naming the
// setting, from a flag, the environment or the config file.
func TestConfig_BadSettingsStopAtStart(t *testing.T) {
	dir := t.TempDir()
	file := func(body string) string {
		p := filepath.Join(dir, fmt.Sprintf("c%d.yaml", len(body)))
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	auth := []string{"serve", "auth", "--client-id", "c", "--client-secret", "s", "--state-dir", dir}
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"PortFromEnvironment", []string{"TMCP_AUTH_PORT", "abc"}, auth, `--port (TMCP_AUTH_PORT, auth.port in the config file): "abc" is not a TCP port`},
		{"PortFromFile", nil, append(auth, "--config", file("auth:\n  port: nine\n")), `"nine" is not a TCP port`},
		{"NegativePort", nil, append(auth, "--port", "-1"), `"-1" is not a TCP port`},
		{"StoreOtherScheme", nil, append(auth, "--store", "mysql://root@localhost/tmcp"), `"mysql://root@localhost/tmcp" is not a storage tmcp knows`},
		{"StoreMistypedPostgres", nil, append(auth, "--store", "postgres:/tmcp@db/tmcp"), "is not a storage tmcp knows: use a postgres://… URL"},
		{"MisspeltKey", nil, append(auth, "--config", file("auth:\n  acess_token_ttl: 1h\n")), `unknown setting "auth.acess_token_ttl" (did you mean "auth.access_token_ttl"?)`},
		{"UnknownSection", nil, append(auth, "--config", file("tokens:\n  lifetime: 1h\n")), `unknown setting "tokens.lifetime"`},
		{"IssuerWithoutScheme", nil, append(auth, "--issuer", "localhost:9000"), `"localhost:9000" is not an http(s) URL; add http:// or https://`},
		{"TaskManagerWithoutScheme", nil, append(auth, "--taskmanager-url", "localhost:4321"), "--taskmanager-url (TASKMANAGER_BASE_URL"},
		{"NegativeLimit", nil, append(auth, "--rate-limit", "-5"), `--rate-limit (TMCP_AUTH_RATE_LIMIT, auth.rate_limit in the config file): "-5" is not a whole number of 0 or more`},
		{"NegativeGlobalRegistrationLimit", []string{"TMCP_AUTH_REGISTRATION_GLOBAL_LIMIT", "-1"}, auth, `--registration-global-limit (TMCP_AUTH_REGISTRATION_GLOBAL_LIMIT, auth.registration_global_limit in the config file): "-1" is not a whole number of 0 or more`},
		{"AssertionAudienceWithoutScheme", nil, append(auth, "--assertion-audience", "127.0.0.1:3000/mcp"), `--assertion-audience (TMCP_AUTH_ASSERTION_AUDIENCES, auth.assertion_audiences in the config file): "127.0.0.1:3000/mcp" is not an http(s) URL`},
		{"AssertionAudienceBesideResourceServers", nil, append(auth, "--assertion-audience", "http://127.0.0.1:3000/mcp", "--config",
			file("auth:\n  resource_servers:\n    - resource: https://a.test/mcp\n      client_id: a\n      client_secret: a-secret-of-16-chars\n")), "with auth.resource_servers give each its assertion_audiences"},
		{"RefreshShorterThanAccess", nil, append(auth, "--access-ttl", "2h", "--refresh-ttl", "1h"), "a refresh token must outlive the access tokens it renews"},
		{"MissingTLSFiles", nil, append(auth, "--tls-cert", filepath.Join(dir, "nope.pem"), "--tls-key", filepath.Join(dir, "nope.key")), "--tls-cert/--tls-key: open"},
		{"ShortIntrospectionSecret", []string{"TMCP_RESOURCE_CLIENT_SECRET", "short"}, auth, `--introspection-client-secret (TMCP_RESOURCE_CLIENT_SECRET, auth.resource_client_secret in the config file) is 5 characters; use at least 16`},
		{"UnknownPreset", nil, append(auth, "--upstream-preset", "gitlab"), `--upstream-preset (TMCP_TASKMANAGER_PRESET, taskmanager.preset in the config file): unknown upstream preset "gitlab" (known: auth0, entra, github, google)`},
		{"EntraWithoutTenant", nil, append(auth, "--upstream-preset", "entra"), "the entra preset needs --upstream-tenant"},
		{"TenantWithoutPreset", nil, append(auth, "--upstream-tenant", "contoso.com"), "--upstream-tenant and --upstream-audience go with --upstream-preset"},
		{"ScopeMapTwoScopesBeforeEquals", nil, append(auth, "--upstream-scope", "read write=tasks"), "the part before = must be one MCP scope"},
		{"ScopeMapCommaInsideEntry", nil, append(auth, "--upstream-scope", "read=tasks.read,tasks.write"), `--upstream-scope (TMCP_TASKMANAGER_UPSTREAM_SCOPES, taskmanager.upstream_scopes in the config file): "tasks.write" follows "read=tasks.read"`},
		{"EmptyListEntryFromEnvironment", []string{"TMCP_AUTH_CORS_ORIGINS", "https://a.test,,https://b.test"}, auth, `--cors-origin (TMCP_AUTH_CORS_ORIGINS, auth.cors_origins in the config file): "https://a.test,,https://b.test" holds an empty entry`},
		{"EmptyListEntryFromFile", nil, append(auth, "--config", file("auth:\n  allowed_users: [\"a@example.com\", \"\"]\n")), `--allowed-users (TMCP_AUTH_ALLOWED_USERS, auth.allowed_users in the config file): the list holds an empty entry`},
		{"EmptyListEntryFromFlag", nil, append(auth, "--registration-scheme", "cursor,"), `--registration-scheme (TMCP_AUTH_REGISTRATION_REDIRECT_SCHEMES, auth.registration_redirect_schemes in the config file): the list holds an empty entry`},
		{"ScopesWithoutFlagEmptyEntry", []string{"TMCP_AUTH_SCOPES_SUPPORTED", "read,,write"}, auth, `TMCP_AUTH_SCOPES_SUPPORTED (auth.scopes_supported in the config file): "read,,write" holds an empty entry`},
		{"ToolScopeCommaInsideRuleFromFlag", nil, []string{"serve", "resource", "--state-dir", dir, "--tool-scope", "delete_*=write,admin"}, `--tool-scope (TMCP_RESOURCE_TOOL_SCOPES, resource.tool_scopes in the config file): scope rule "admin": write PATTERN=SCOPE`},
		{"ToolScopeCommaInsideRuleFromEnvironment", []string{"TMCP_RESOURCE_TOOL_SCOPES", "delete_*=write,admin"}, []string{"serve", "resource", "--state-dir", dir}, `--tool-scope (TMCP_RESOURCE_TOOL_SCOPES, resource.tool_scopes in the config file): scope rule "admin"`},
		{"ToolScopeCommaInsideRuleFromFile", nil, []string{"serve", "resource", "--state-dir", dir, "--config", file("resource:\n  tool_scopes: [\"delete_*=write,admin\"]\n")}, `scope rule "admin"`},
		{"PromptScopeWithoutEquals", nil, []string{"serve", "resource", "--state-dir", dir, "--prompt-scope", "secret_*"}, `--prompt-scope (TMCP_RESOURCE_PROMPT_SCOPES, resource.prompt_scopes in the config file): scope rule "secret_*"`},
		{"TrustedProxyNotACIDR", []string{"TMCP_AUTH_TRUSTED_PROXIES", "10.0.0.0/8 proxy.internal"}, auth, `--trusted-proxy (TMCP_AUTH_TRUSTED_PROXIES, auth.trusted_proxies in the config file): "proxy.internal" is not a CIDR`},
		{"ResourceNegativeSessions", nil, []string{"serve", "resource", "--max-sessions", "-2", "--state-dir", dir}, `--max-sessions`},
		{"ResourceAuthServerWithoutScheme", nil, []string{"serve", "resource", "--auth-server", "localhost:9000", "--state-dir", dir}, "--auth-server"},
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i+1 < len(tc.env); i += 2 {
				t.Setenv(tc.env[i], tc.env[i+1])
			}
			io, _, errOut := ui.Test()
			code := cli.Run(context.Background(), &cmdutil.Factory{IO: io}, tc.args)
			if code != 1 || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 with %q", code, errOut, tc.want)
			}
			if strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
				t.Fatalf("the error is more than one line: %q", errOut)
			}
		})
	}
}
