package scale_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// proc is a running tmcp process.
type proc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// start runs tmcp with args and env, waits for healthURL, and stops the
// process (SIGINT) when the test ends.
func start(t *testing.T, env []string, healthURL string, args ...string) *proc {
	t.Helper()
	p := launch(t, env, args...)
	waitHealthy(t, healthURL, p)
	return p
}

// launch runs tmcp with args and env, and stops it (SIGINT) when the test
// ends.
func launch(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(testkit.Binary(t), args...), logs: &syncBuffer{}}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		_ = p.cmd.Wait()
		if t.Failed() {
			t.Logf("tmcp %v:\n%s", args, p.logs.String())
		}
	})
	return p
}

func waitHealthy(t *testing.T, u string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy:\n%s", u, p.logs.String())
}

func itoa(n int) string { return strconv.Itoa(n) }

// A binary built from a clone, as `go install ./cmd/tmcp` builds it, names
// its commit instead of "none".
func TestVersion_BuiltFromAClone(t *testing.T) {
	if _, err := os.Stat("../../.git"); err != nil {
		t.Skip("not a git checkout: go build records no commit")
	}
	out, err := exec.Command(testkit.Binary(t), "version", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Commit, Date string }
	if err := json.Unmarshal(out, &v); err != nil || v.Commit == "none" || v.Date == "unknown" {
		t.Fatalf("tmcp version from a clone: %s (%v)", out, err)
	}
}
