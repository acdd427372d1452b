package scale_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/testkit"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Two auth servers on one PostgreSQL, started together with an admin
// session and no client: one registers tmcp at TaskManager, the other
// waits and uses the same client, and both sign users in.
func TestSelfRegistration_TwoInstancesRegisterOnce(t *testing.T) {
	dsn := testkit.StartPostgres(t)
	pa, pb := testkit.FreePort(t), testkit.FreePort(t)
	// Behind one public URL, as a balancer would put them.
	issuer := "http://localhost:" + itoa(pa)
	sb := testkit.StartSandbox(t, issuer+"/oauth/callback")
	cookie, err := testkit.SandboxSession(sb.URL())
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"TMCP_STORE=" + dsn, "TMCP_ENCRYPTION_KEY=" + strings.Repeat("cd", 32),
		"TMCP_RESOURCE_CLIENT_SECRET=cluster-resource-secret", "TASKMANAGER_BASE_URL=" + sb.URL(),
		"TASKMANAGER_CLIENT_ID=", "TASKMANAGER_CLIENT_SECRET=", "TASKMANAGER_ADMIN_SESSION_COOKIE=" + cookie,
		"XDG_STATE_HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(),
	}
	a := launch(t, env, "serve", "auth", "--port", itoa(pa), "--issuer", issuer)
	b := launch(t, env, "serve", "auth", "--port", itoa(pb), "--issuer", issuer)
	waitHealthy(t, "http://127.0.0.1:"+itoa(pa)+"/healthz", a)
	waitHealthy(t, "http://127.0.0.1:"+itoa(pb)+"/healthz", b)

	registered := strings.Count(a.logs.String()+b.logs.String(), "registered tmcp's client at TaskManager")
	if registered != 1 {
		t.Fatalf("%d instances registered tmcp at TaskManager, want 1", registered)
	}
	up, err := upstream.New(upstream.Config{BaseURL: sb.URL(), ClientsEndpoint: "/api/oauth/clients"})
	if err != nil {
		t.Fatal(err)
	}
	clients, err := up.ListClients(context.Background(), upstream.Session{CookieName: "session", Value: cookie})
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, c := range clients {
		if c.Name == "tmcp ("+issuer+")" {
			ours = append(ours, c.ClientID)
		}
	}
	if len(ours) != 1 {
		t.Fatalf("TaskManager lists %d clients tmcp registered for itself, want 1: %v", len(ours), ours)
	}
	// Both instances authenticate as that client: each checked it at start.
	for name, p := range map[string]*proc{"a": a, "b": b} {
		if !strings.Contains(p.logs.String(), "upstream client checked") || !strings.Contains(p.logs.String(), ours[0]) {
			t.Errorf("instance %s does not use client %s:\n%s", name, ours[0], p.logs.String())
		}
	}
}
