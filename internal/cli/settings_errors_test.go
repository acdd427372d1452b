package cli_test

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// Settings any string is a good value of: names, secrets, paths, claims.
var freeForm = map[string]bool{
	config.KeyTMClientID: true, config.KeyTMSecret: true, config.KeyTMAdminCookie: true, config.KeyTMCookie: true,
	config.KeyTMUserClaim: true, config.KeyTMGroupClaim: true, config.KeyTMScopeMap: true, config.KeyJWTIssuer: true,
	config.KeyAuthStore: true, config.KeyAuthAuditLog: true, config.KeyAuthRegToken: true, config.KeyAuthResClientID: true,
	config.KeyAuthAllowUsers: true, config.KeyAuthAllowGroups: true, config.KeyAuthCORSOrigins: true, config.KeyAuthRegSchemes: true,
	config.KeyResourceOrigins: true, config.KeyResourceHosts: true, config.KeyResourceProxyVia: true, // checked with --proxy
	config.KeySandboxEmail: true, config.KeySandboxPassword: true, config.KeySandboxClientSecret: true, config.KeySandboxRedirectURIs: true,
}

// A bad value of one setting can be about another: the error names the
// one it is about.
var namedWith = map[string]string{
	config.KeyTMTenant: config.KeyTMPreset, config.KeyTMAudience: config.KeyTMPreset,
	config.KeyAuthScopes: config.KeyTMScope, config.KeySandboxClientID: config.KeySandboxClientSecret,
}

// Every setting of the serve commands, given a bad value in its
// environment variable, stops the real binary at start with one line
// that names the setting by flag, environment variable and config key.
func TestSettings_EveryBadValueIsOneLineNamingTheSetting(t *testing.T) {
	bin := testkit.Binary(t)
	for _, s := range config.Settings() {
		command, _, _ := strings.Cut(s.Key, ".")
		switch command {
		case "auth", "taskmanager":
			command = "auth"
		case "resource", "sandbox":
		default:
			continue
		}
		if freeForm[s.Key] {
			continue
		}
		bad := "%bad value%"
		switch d := s.Default.(type) {
		case int:
			bad = "lots"
		case bool:
			bad = "maybe"
		case string:
			if _, err := time.ParseDuration(d); err == nil {
				bad = "soon"
			} else if strings.HasPrefix(d, "http") || strings.HasPrefix(d, "/") {
				bad = "localhost:1"
			}
		}
		t.Run(s.Key, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := []string{"serve", command, "--state-dir", t.TempDir()}
			if !strings.HasSuffix(s.Key, ".port") {
				args = append(args, "--port", strconv.Itoa(testkit.FreePort(t)))
			}
			env := s.Env()
			c := exec.CommandContext(ctx, bin, args...)
			c.Dir = t.TempDir()
			c.Env = append(c.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "TASKMANAGER_CLIENT_ID=tmcp",
				"TASKMANAGER_CLIENT_SECRET=dev-secret", env[len(env)-1]+"="+bad)
			var stderr strings.Builder
			c.Stderr = &stderr
			err := c.Run()
			if ctx.Err() != nil {
				t.Fatalf("%s=%q: the server started", env[len(env)-1], bad)
			}
			msg := strings.TrimSpace(stderr.String())
			want := s.Name()
			if other, ok := namedWith[s.Key]; ok {
				want = config.Lookup(other).Name()
			}
			if err == nil || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "tmcp: ") || !strings.Contains(msg, want) {
				t.Fatalf("%s=%q: exit %v\n%s\nwant one line naming %s", env[len(env)-1], bad, err, msg, want)
			}
		})
	}
}

// A port already taken is named by the setting that chose it: the
// server's port, or its ops listener's address, in serve and in dev.
func TestPortInUse_NamesTheListenerTaken(t *testing.T) {
	bin := testkit.Binary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()
	_, busyPort, _ := net.SplitHostPort(busy)
	free := func() string { return strconv.Itoa(testkit.FreePort(t)) }
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"serve auth, its port", []string{"serve", "auth", "--port", busyPort, "--ops-addr", "127.0.0.1:0"}, nil,
			"port " + busyPort + " is already in use (--port, TMCP_AUTH_PORT)"},
		{"serve auth, its ops address", []string{"serve", "auth", "--port", free(), "--ops-addr", busy}, nil,
			"the ops listener's address " + busy + " is already in use (--ops-addr, TMCP_AUTH_OPS_ADDR)"},
		// TEST-NET-1 (RFC 5737) is no address of this machine's.
		{"serve auth, an ops address it cannot listen on", []string{"serve", "auth", "--port", free(), "--ops-addr", "192.0.2.1:1"}, nil,
			"(--ops-addr, TMCP_AUTH_OPS_ADDR)"},
		{"serve resource, its ops address", []string{"serve", "resource", "--port", free(), "--ops-addr", busy}, nil,
			"the ops listener's address " + busy + " is already in use (--ops-addr, TMCP_RESOURCE_OPS_ADDR)"},
		{"dev, the auth server's ops address", []string{"dev", "--sandbox-port", free(), "--auth-port", free(), "--resource-port", free()},
			[]string{"TMCP_AUTH_OPS_ADDR=" + busy, "TMCP_RESOURCE_OPS_ADDR=127.0.0.1:0"},
			"the ops listener's address " + busy + " is already in use (--auth-ops-addr, TMCP_AUTH_OPS_ADDR)"},
		{"dev, the resource server's ops address", []string{"dev", "--sandbox-port", free(), "--auth-port", free(), "--resource-port", free()},
			[]string{"TMCP_AUTH_OPS_ADDR=127.0.0.1:0", "TMCP_RESOURCE_OPS_ADDR=" + busy},
			"the ops listener's address " + busy + " is already in use (--resource-ops-addr, TMCP_RESOURCE_OPS_ADDR)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			dir := t.TempDir()
			c := exec.CommandContext(ctx, bin, append(tc.args, "--state-dir", dir)...)
			c.Dir = dir
			c.Env = append(append(c.Environ(), "XDG_CONFIG_HOME="+dir, "TASKMANAGER_CLIENT_ID=tmcp",
				"TASKMANAGER_CLIENT_SECRET=dev-secret"), tc.env...)
			var stderr strings.Builder
			c.Stderr = &stderr
			err := c.Run()
			if ctx.Err() != nil {
				t.Fatal("the server started")
			}
			got := strings.TrimSpace(stderr.String())
			if err == nil || !strings.Contains(got, tc.want) || strings.Count(got, "\n") > 0 {
				t.Fatalf("err %v, stderr:\n%s\nwant one line with %q", err, got, tc.want)
			}
		})
	}
}
