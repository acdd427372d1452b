package authserver_test

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/sqlitefile"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func readyz(t *testing.T, stack *testkit.Stack) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(stack.Auth.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// wantReady checks /readyz's status and that its body says want; a 503
// carries Retry-After, and /healthz (the process) stays 200 throughout.
func wantReady(t *testing.T, stack *testkit.Stack, status int, want ...string) {
	t.Helper()
	resp, body := readyz(t, stack)
	if resp.StatusCode != status {
		t.Fatalf("/readyz = %d %q, want %d", resp.StatusCode, body, status)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("/readyz says %q, want %q in it", body, w)
		}
	}
	if status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		t.Fatal("/readyz 503 without Retry-After")
	}
	if code, _ := get(t, stack.Auth.URL()+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d, want 200 whatever the dependencies do", code)
	}
}

// TaskManager down makes sign-in fail, but introspection, revocation and
// most refreshes work: /readyz stays 200 and notes it, so routing by it
// does not pull every instance at once.
func TestReadyz_TaskManagerDownIsOnlyDegraded(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{UpstreamURL: "http://127.0.0.1:1"})
	wantReady(t, stack, http.StatusOK, "ready, degraded", "storage: takes writes", "TaskManager: unreachable")
}

// A write lock held elsewhere makes every write wait and fail: /readyz
// writes (bounded) rather than pings, so it says 503 while the lock is
// held and 200 once it is let go.
func TestReadyz_StorageWriteLockHeldIsNotReady(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	stack := testkit.StartStack(t, testkit.AuthOptions{Now: clock.Now})
	wantReady(t, stack, http.StatusOK, "ready\n", "storage: takes writes", "TaskManager: answers")

	db, err := sqlitefile.Open(stack.StorePath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second) // past the kept answer
	wantReady(t, stack, http.StatusServiceUnavailable, "not ready", "storage: takes no writes")
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	wantReady(t, stack, http.StatusOK, "ready\n")
}

// A database that cannot be written (here the file and its log made
// immutable, which even root cannot write) answers reads; /readyz says
// 503 all the same, since nothing can be issued.
func TestReadyz_StorageReadOnlyIsNotReady(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("chattr"); err != nil {
		t.Skip("chattr is not installed")
	}
	clock := testkit.NewClock()
	stack := testkit.StartStack(t, testkit.AuthOptions{Now: clock.Now})
	wantReady(t, stack, http.StatusOK, "ready\n")
	files := []string{stack.StorePath, stack.StorePath + "-wal"}
	if out, err := exec.Command("chattr", append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
		t.Skipf("chattr +i: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", append([]string{"-i"}, files...)...).Run() })
	clock.Advance(2 * time.Second)
	wantReady(t, stack, http.StatusServiceUnavailable, "not ready", "storage: takes no writes")
	exec.Command("chattr", append([]string{"-i"}, files...)...).Run()
	clock.Advance(2 * time.Second)
	wantReady(t, stack, http.StatusOK, "ready\n")
}
