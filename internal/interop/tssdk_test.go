package interop_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func TestMain(m *testing.M) {
	// The test binary doubles as the scripted browser the Node client opens.
	if os.Getenv("TMCP_FAKEBROWSER") == "1" {
		if err := testkit.SignInAs(os.Args[len(os.Args)-1]); err != nil {
			os.Stderr.WriteString("fakebrowser: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	testkit.Main(m)
}

// TestTypeScriptSDKClient runs the official TypeScript SDK's OAuth client
// (OAuthClientProvider + StreamableHTTPClientTransport) against a real
// `tmcp dev`.
func TestTypeScriptSDKClient(t *testing.T) {
	dir := interopDir(t)
	mcpURL, authURL := startDev(t, testkit.Binary(t))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(t, time.Minute, []string{"TMCP_BROWSER=" + self}, node(dir), filepath.Join(dir, "ts-client.mjs"), mcpURL)
	if err != nil {
		t.Fatalf("TypeScript client: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got struct {
		Resource            string         `json:"resource"`
		CodeChallengeMethod string         `json:"codeChallengeMethod"`
		Iss                 string         `json:"iss"`
		RegisteredScope     string         `json:"registeredScope"`
		Scope               string         `json:"scope"`
		Tools               []string       `json:"tools"`
		Whoami              map[string]any `json:"whoami"`
		Tasks               map[string]any `json:"tasks"`
		FirstTry            string         `json:"firstTry"`
		StepUpScope         string         `json:"stepUpScope"`
		Created             map[string]any `json:"created"`
		TokensDiffer        bool           `json:"tokensDiffer"`
		Refreshed           string         `json:"refreshed"`
		RefreshedToken      bool           `json:"refreshedToken"`
		AfterRefresh        map[string]any `json:"afterRefresh"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("TypeScript client output: %v\n%s", err, out)
	}
	t.Logf("TypeScript SDK: %+v", got)
	switch {
	case got.Resource != mcpURL || got.CodeChallengeMethod != "S256" || got.Iss != authURL:
		t.Fatalf("sign-in: resource %q, PKCE %q, iss %q", got.Resource, got.CodeChallengeMethod, got.Iss)
	case got.Scope != "read" || got.Whoami["username"] != testkit.DemoEmail || len(got.Tools) != 6:
		t.Fatalf("first sign-in: scope %q, whoami %v, tools %v", got.Scope, got.Whoami, got.Tools)
	case got.Tasks["tasks"] == nil:
		t.Fatalf("list_tasks structured content = %v", got.Tasks)
	// The SDK's own limit (typescript-sdk #2255), recorded in docs/interoperability.md.
	case !strings.HasSuffix(got.FirstTry, "Server returned 403 after trying upscoping"):
		t.Fatalf("the first create_task = %q: the SDK's step-up behaviour changed; update the table in docs/interoperability.md", got.FirstTry)
	// It registered the first challenge's scope, and steps up beyond it.
	case got.RegisteredScope != "read" || got.StepUpScope != "read write" || got.Created["title"] != "from the TypeScript SDK" || !got.TokensDiffer:
		t.Fatalf("step-up: asked %q, created %v", got.StepUpScope, got.Created)
	case got.Refreshed != "AUTHORIZED" || !got.RefreshedToken || got.AfterRefresh["username"] != testkit.DemoEmail:
		t.Fatalf("refresh: %q, new token %v, whoami %v", got.Refreshed, got.RefreshedToken, got.AfterRefresh)
	}
}

// startDev runs `tmcp dev` (with extra arguments) on free ports with its
// own state directory and stops it (SIGINT) when the test ends.
func startDev(t *testing.T, bin string, extra ...string) (mcpURL, authURL string) {
	t.Helper()
	ports := make([]string, 3)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
	}
	cmd := exec.Command(bin, append([]string{"dev", "--sandbox-port", ports[0], "--auth-port", ports[1], "--resource-port", ports[2]}, extra...)...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "NO_COLOR=1")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("tmcp dev output:\n%s", logs.String())
		}
	})
	authURL, mcpURL = "http://localhost:"+ports[1], "http://localhost:"+ports[2]+"/mcp"
	deadline := time.Now().Add(15 * time.Second)
	for _, u := range []string{"http://localhost:" + ports[0] + "/healthz", authURL + "/healthz", "http://localhost:" + ports[2] + "/healthz"} {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tmcp dev did not come up: %v\n%s", err, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return mcpURL, authURL
}
