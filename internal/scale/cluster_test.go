package scale_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// cluster is two auth instances behind a round-robin balancer and one
// resource server, all on one PostgreSQL database.
type cluster struct {
	lb         string // the balancer: the auth servers' public URL
	authA      string
	authB      string
	a, b       *proc
	resource   string
	balancedTo [2]atomic.Int32
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	dsn := testkit.StartPostgres(t)
	c := &cluster{}
	pa, pb, pr := testkit.FreePort(t), testkit.FreePort(t), testkit.FreePort(t)
	c.authA, c.authB = "http://127.0.0.1:"+itoa(pa), "http://127.0.0.1:"+itoa(pb)
	var next atomic.Int32
	targets := []*url.URL{mustParse(c.authA), mustParse(c.authB)}
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(next.Add(1)) % 2
		c.balancedTo[i].Add(1)
		rp := httputil.NewSingleHostReverseProxy(targets[i])
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(lb.Close)
	c.lb = strings.Replace(lb.URL, "127.0.0.1", "localhost", 1)
	sb := testkit.StartSandbox(t, c.lb+"/oauth/callback")
	c.resource = "http://localhost:" + itoa(pr) + "/mcp"
	env := []string{
		"TMCP_STORE=" + dsn, "TMCP_ENCRYPTION_KEY=" + strings.Repeat("ab", 32),
		"TMCP_RESOURCE_CLIENT_SECRET=cluster-resource-secret", "TASKMANAGER_BASE_URL=" + sb.URL(),
		"TASKMANAGER_CLIENT_ID=" + testkit.UpstreamClientID, "TASKMANAGER_CLIENT_SECRET=" + testkit.UpstreamSecret,
		"XDG_STATE_HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(),
	}
	authArgs := func(port int) []string {
		return []string{"serve", "auth", "--host", "127.0.0.1", "--port", itoa(port), "--issuer", c.lb,
			"--resource", c.resource, "--rate-limit", "0", "--registration-limit", "0", "--client-rate-limit", "0"}
	}
	c.a = start(t, env, c.authA+"/healthz", authArgs(pa)...)
	c.b = start(t, env, c.authB+"/healthz", authArgs(pb)...)
	start(t, env, "http://localhost:"+itoa(pr)+"/healthz", "serve", "resource", "--port", itoa(pr),
		"--auth-server", c.lb, "--cache-ttl", "0")
	return c
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestCluster_TwoAuthInstancesOnePostgres(t *testing.T) {
	c := startCluster(t)
	client := testkit.Discover(t, c.lb)
	client.Resource = c.resource
	client.RegisterPublic()

	t.Run("FlowSpansBothInstances", func(t *testing.T) {
		before := [2]int32{c.balancedTo[0].Load(), c.balancedTo[1].Load()}
		authz := client.AuthorizeURL(nil)
		back := testkit.SignIn(t, testkit.NewBrowser(t, client.RedirectURI), authz.URL)
		status, tok := client.Exchange(back.Query().Get("code"), authz.Verifier)
		if status != 200 {
			t.Fatalf("exchange: %d %v", status, tok)
		}
		if c.balancedTo[0].Load() == before[0] || c.balancedTo[1].Load() == before[1] {
			t.Fatalf("the flow did not touch both instances: %v → %v", before, [2]int32{c.balancedTo[0].Load(), c.balancedTo[1].Load()})
		}
	})

	t.Run("ConcurrentRefreshRotatesOnce", func(t *testing.T) {
		authz := client.AuthorizeURL(nil)
		back := testkit.SignIn(t, testkit.NewBrowser(t, client.RedirectURI), authz.URL)
		_, tok := client.Exchange(back.Query().Get("code"), authz.Verifier)
		rt := tok["refresh_token"].(string)
		var wg sync.WaitGroup
		results := make([]map[string]any, 2)
		statuses := make([]int, 2)
		for i, base := range []string{c.authA, c.authB} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(url.Values{
					"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client.ClientID}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				statuses[i], results[i] = testkit.Do(t, req)
			}()
		}
		wg.Wait()
		// The token rotates once: both instances may answer (the later
		// one within the grace repeats the first answer), and exactly one
		// new access token exists and is active.
		issued := map[string]bool{}
		for i := range results {
			if statuses[i] == 200 {
				issued[results[i]["access_token"].(string)] = true
			}
		}
		if len(issued) != 1 {
			t.Fatalf("statuses %v; %d different access tokens after one concurrent refresh, want 1", statuses, len(issued))
		}
		for at := range issued {
			if _, info := client.Introspect(at, "tmcp-resource", "cluster-resource-secret"); info["active"] != true {
				t.Fatalf("the rotation's access token is not active: %v", info)
			}
		}
	})

	t.Run("RevocationOnOneInstanceSeenAtOnce", func(t *testing.T) {
		authz := client.AuthorizeURL(nil)
		back := testkit.SignIn(t, testkit.NewBrowser(t, client.RedirectURI), authz.URL)
		_, tok := client.Exchange(back.Query().Get("code"), authz.Verifier)
		at := tok["access_token"].(string)
		mc, err := testkit.MCP(t, c.resource, at, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if res, _ := testkit.CallTool(t, mc, "whoami", nil); res.IsError {
			t.Fatal("whoami failed")
		}
		req, _ := http.NewRequest(http.MethodPost, c.authB+"/revoke", strings.NewReader(url.Values{"token": {at}, "client_id": {client.ClientID}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if status, _ := testkit.Do(t, req); status != 200 {
			t.Fatalf("revoke at B: %d", status)
		}
		body := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
		resp := testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, c.resource, at, "", strings.NewReader(body)))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the resource server still accepts a token revoked on the other instance: %d", resp.StatusCode)
		}
	})
}
