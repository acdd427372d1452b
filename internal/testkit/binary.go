package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Binary builds the real tmcp command once per test process (with its
// version-control information, as `go install` would) and returns its
// path; Main removes it at the end.
func Binary(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "tmcp-bin-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "tmcp")
		out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", built.path, "github.com/tmcp-dev/tmcp/cmd/tmcp").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("build tmcp: %v\n%s", err, out)
		}
		// The servers this binary runs in tests take free ops ports:
		// several at once would each want the default ones.
		for _, env := range OpsEnv {
			if _, set := os.LookupEnv(env); !set {
				os.Setenv(env, "127.0.0.1:0")
			}
		}
	})
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.path
}

// OpsEnv are the settings of the servers' ops listeners, which tests set
// to 127.0.0.1:0.
var OpsEnv = []string{"TMCP_AUTH_OPS_ADDR", "TMCP_RESOURCE_OPS_ADDR"}

// Main runs the package's tests, then stops what they started (the
// shared PostgreSQL cluster, the built binary) and exits with their
// status. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	StopPostgres()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}
