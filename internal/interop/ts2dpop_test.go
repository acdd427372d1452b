package interop_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// ts2DPoPRun is what ts2-dpop-client.mjs reports.
type ts2DPoPRun struct {
	TokenType      string         `json:"tokenType"`
	Tools          []string       `json:"tools"`
	Called         bool           `json:"called"`
	Refreshed      string         `json:"refreshed"`
	RefreshedToken bool           `json:"refreshedToken"`
	RefreshedType  string         `json:"refreshedType"`
	AfterRefresh   bool           `json:"afterRefresh"`
	Attacks        map[string]any `json:"attacks"`
}

// runTS2DPoP runs the TypeScript SDK v2 client against mcpURL, with DPoP
// or without, calling tool with args.
func runTS2DPoP(t *testing.T, dir, mcpURL string, withDPoP bool, tool, args string) (ts2DPoPRun, string, error) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"TMCP_BROWSER=" + self, "TMCP_TOOL=" + tool, "TMCP_TOOL_ARGS=" + args, "TMCP_DPOP=0"}
	if withDPoP {
		env[len(env)-1] = "TMCP_DPOP=1"
	}
	out, err := run(t, time.Minute, env, node(dir), filepath.Join(dir, "ts2-dpop-client.mjs"), mcpURL)
	var got ts2DPoPRun
	if err == nil {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &got); jerr != nil {
			t.Fatalf("TypeScript v2 client output: %v\n%s", jerr, out)
		}
	}
	return got, out, err
}

// TestTypeScriptSDKv2Client_DPoP runs the TypeScript SDK v2 client
// (2.4.0) against `tmcp dev`, with its DPoP support (RFC 9449) on and
// off: on the built-in server with opaque and JWT access tokens, with
// --require-dpop, and as a gateway in front of the reference server. A
// DPoP-bound token works with the SDK's key, through a refresh, and is
// refused (401) as a bearer token, with another key, with a replayed
// proof, with the wrong htu, htm or ath, with a stale iat and with no
// proof; a bearer client keeps working unless DPoP is required.
func TestTypeScriptSDKv2Client_DPoP(t *testing.T) {
	dir := interopDir(t)
	bin := testkit.Binary(t)
	everything := everythingScript(dir)
	cases := []struct {
		name        string
		env         []string
		args        []string
		dpop        bool
		tool, targs string
		wantFail    bool
	}{
		{name: "built-in, DPoP", dpop: true, tool: "whoami"},
		{name: "built-in, JWT access tokens, DPoP", env: []string{"TMCP_TOKEN_FORMAT", "jwt"}, dpop: true, tool: "whoami"},
		{name: "built-in, bearer", tool: "whoami"},
		{name: "built-in, --require-dpop, DPoP", args: []string{"--require-dpop"}, dpop: true, tool: "whoami"},
		{name: "built-in, --require-dpop, bearer", args: []string{"--require-dpop"}, tool: "whoami", wantFail: true},
		{name: "gateway, DPoP", args: []string{"--", node(dir), everything, "stdio"}, dpop: true, tool: "echo", targs: `{"message":"dpop"}`},
		{name: "gateway, bearer", args: []string{"--", node(dir), everything, "stdio"}, tool: "echo", targs: `{"message":"bearer"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i+1 < len(tc.env); i += 2 {
				t.Setenv(tc.env[i], tc.env[i+1])
			}
			mcpURL, _ := startDev(t, bin, tc.args...)
			targs := tc.targs
			if targs == "" {
				targs = "{}"
			}
			got, out, err := runTS2DPoP(t, dir, mcpURL, tc.dpop, tc.tool, targs)
			if tc.wantFail {
				if err == nil {
					t.Fatalf("a bearer client signed in where DPoP is required: %+v", got)
				}
				if !strings.Contains(out, "invalid_dpop_proof") {
					t.Fatalf("the bearer client failed, but not for want of a DPoP proof:\n%s", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("TypeScript v2 client: %v\n%s", err, out)
			}
			t.Logf("TypeScript SDK v2: %+v", got)
			wantType := "Bearer"
			if tc.dpop {
				wantType = "DPoP"
			}
			if got.TokenType != wantType || got.RefreshedType != wantType || !got.Called || !got.AfterRefresh ||
				got.Refreshed != "AUTHORIZED" || !got.RefreshedToken || !slices.Contains(got.Tools, tc.tool) {
				t.Fatalf("the client's run: %+v", got)
			}
			if !tc.dpop {
				if got.Attacks["goodBearer"] != float64(http.StatusOK) {
					t.Fatalf("a bearer token as bearer: %v", got.Attacks)
				}
				return
			}
			if got.Attacks["goodProof"] != float64(http.StatusOK) {
				t.Fatalf("the token with a fresh proof of its key: %v", got.Attacks)
			}
			for _, a := range []string{"asBearer", "otherKey", "replayed", "noProof", "wrongHtu", "wrongHtm", "wrongAth", "staleIat"} {
				if got.Attacks[a] != float64(http.StatusUnauthorized) {
					t.Errorf("%s: %v, want 401", a, got.Attacks[a])
				}
			}
		})
	}
}
