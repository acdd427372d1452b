package interop_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/testkit"
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
	os.Exit(m.Run())
}

// TestTypeScriptSDKClient runs the official TypeScript SDK's OAuth client
// (OAuthClientProvider + StreamableHTTPClientTransport) against tmcp.
func TestTypeScriptSDKClient(t *testing.T) {
	dir := interopDir(t)
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(t, time.Minute, []string{"TMCP_BROWSER=" + self}, node(dir), filepath.Join(dir, "ts-client.mjs"), stack.Resource.URL())
	if err != nil {
		t.Fatalf("TypeScript client: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got struct {
		Resource            string         `json:"resource"`
		CodeChallengeMethod string         `json:"codeChallengeMethod"`
		Iss                 string         `json:"iss"`
		Scope               string         `json:"scope"`
		Whoami              map[string]any `json:"whoami"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("TypeScript client output: %v\n%s", err, out)
	}
	if got.Resource != stack.Resource.URL() || got.CodeChallengeMethod != "S256" || got.Iss != stack.Auth.URL() ||
		got.Whoami["username"] != testkit.DemoEmail || got.Scope != "read" {
		t.Fatalf("TypeScript client saw %+v", got)
	}
}
