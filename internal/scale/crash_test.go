package scale_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// TestCrash_SIGKILLMidFlowsLosesNothingIssued kills `serve auth` with
// SIGKILL while clients refresh tokens and run sign-ins, restarts it on
// the same storage, and checks that every token a client received still
// works, that interrupted flows fail with OAuth errors rather than server
// errors, and that no rotation is half-written.
func TestCrash_SIGKILLMidFlowsLosesNothingIssued(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "tmcp.db")
			if backend == "postgres" {
				store = testkit.StartPostgres(t)
			}
			crashTest(t, store)
		})
	}
}

func crashTest(t *testing.T, store string) {
	port := testkit.FreePort(t)
	base := "http://localhost:" + itoa(port)
	sb := testkit.StartSandbox(t, base+"/oauth/callback")
	env := []string{"TMCP_STORE=" + store, "TMCP_ENCRYPTION_KEY=" + strings.Repeat("cd", 32),
		"TMCP_RESOURCE_CLIENT_SECRET=crash-test-resource-secret", "TASKMANAGER_BASE_URL=" + sb.URL(),
		"TASKMANAGER_CLIENT_ID=" + testkit.UpstreamClientID, "TASKMANAGER_CLIENT_SECRET=" + testkit.UpstreamSecret,
		"XDG_STATE_HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir()}
	args := []string{"serve", "auth", "--port", itoa(port), "--rate-limit", "0", "--registration-limit", "0", "--client-rate-limit", "0"}
	first := start(t, env, base+"/healthz", args...)

	c := testkit.Discover(t, base)
	c.RegisterPublic()
	// Refresh chains to hammer, each begun by a full sign-in.
	type chain struct{ refresh string }
	chains := make([]*chain, 6)
	for i := range chains {
		chains[i] = &chain{refresh: c.SignInForTokens(nil)["refresh_token"].(string)}
	}

	var mu sync.Mutex
	var received []string // access tokens clients got answers for
	var wg sync.WaitGroup
	stop := make(chan struct{})
	hc := &http.Client{Timeout: 2 * time.Second}
	for _, ch := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(url.Values{
					"grant_type": {"refresh_token"}, "refresh_token": {ch.refresh}, "client_id": {c.ClientID}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := hc.Do(req)
				if err != nil {
					return // the server died mid-request: this answer never arrived
				}
				var out map[string]any
				status := resp.StatusCode
				_ = decodeJSON(resp, &out)
				if status != 200 {
					return
				}
				mu.Lock()
				received = append(received, out["access_token"].(string))
				mu.Unlock()
				ch.refresh = out["refresh_token"].(string)
			}
		}()
	}
	// Sign-ins left half done: one waiting at TaskManager, one with an
	// unredeemed code.
	halfBrowser := testkit.NewBrowser(t, sb.URL())
	half := c.AuthorizeURL(nil)
	atTaskManager := halfBrowser.Submit(halfBrowser.Get(half.URL), "approve", nil).Location()
	if atTaskManager == nil {
		t.Fatal("the sign-in did not reach TaskManager")
	}
	unredeemed := c.AuthorizeURL(nil)
	codeBack := testkit.SignIn(t, testkit.NewBrowser(t, c.RedirectURI), unredeemed.URL)

	time.Sleep(300 * time.Millisecond)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	_ = first.cmd.Wait()
	mu.Lock()
	got := append([]string(nil), received...)
	mu.Unlock()
	if len(got) == 0 {
		t.Fatal("no refresh completed before the kill")
	}
	t.Logf("%d refreshes answered before SIGKILL", len(got))

	start(t, env, base+"/healthz", args...)
	for i, at := range got {
		if _, info := c.Introspect(at, "tmcp-resource", "crash-test-resource-secret"); info["active"] != true {
			t.Fatalf("access token %d of %d, answered before the kill, is not active after the restart", i+1, len(got))
		}
	}
	for _, ch := range chains {
		// The newest refresh token a client holds still works, or was
		// rotated by a request whose answer the kill swallowed: then the
		// client gets a clean OAuth error, never a server error.
		status, body := c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ch.refresh}})
		if status != 200 && !(status == 400 && body["error"] == "invalid_grant") {
			t.Fatalf("refresh after the restart: %d %v", status, body)
		}
	}
	if status, tok := c.Exchange(codeBack.Query().Get("code"), unredeemed.Verifier); status != 200 {
		t.Fatalf("a code issued before the kill: %d %v", status, tok)
	}
	// The sign-in that was waiting at TaskManager resumes and completes:
	// its state was stored before the kill.
	halfBrowser.StopAt = c.RedirectURI
	resumed := testkit.SignIn(t, halfBrowser, atTaskManager.String())
	if status, tok := c.Exchange(resumed.Query().Get("code"), half.Verifier); status != 200 {
		t.Fatalf("the resumed sign-in: %d %v", status, tok)
	}
	checkNothingHalfWritten(t, store)
}

func decodeJSON(resp *http.Response, out any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// checkNothingHalfWritten: every rotated refresh token that is not
// revoked has its successor tokens, and every token's grant exists.
func checkNothingHalfWritten(t *testing.T, store string) {
	t.Helper()
	var db *sql.DB
	var err error
	if strings.HasPrefix(store, "postgres://") {
		cfg, perr := pgx.ParseConfig(store)
		if perr != nil {
			t.Fatal(perr)
		}
		db = stdlib.OpenDB(*cfg)
	} else {
		db, err = sql.Open("sqlite", "file:"+store)
		if err != nil {
			t.Fatal(err)
		}
	}
	defer db.Close()
	var orphans, headless int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM tokens t WHERE NOT EXISTS
		(SELECT 1 FROM grants g WHERE g.id = t.grant_id)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM tokens t WHERE t.kind = 'refresh'
		AND t.used_at <> 0 AND t.revoked_at = 0 AND NOT EXISTS
		(SELECT 1 FROM tokens s WHERE s.issuance = t.successor AND s.kind = 'refresh')`).Scan(&headless); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 || headless != 0 {
		t.Fatalf("half-written state after SIGKILL: %d tokens without grant, %d rotations without successor", orphans, headless)
	}
}
