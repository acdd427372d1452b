package gcpolicy

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// fsRoot lays files out under a temporary root, as /proc and /sys show
// them.
func fsRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCgroupMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"v2, the cgroup's own limit", map[string]string{
			"proc/self/cgroup": "0::/system.slice/tmcp.service\n",
			"sys/fs/cgroup/system.slice/tmcp.service/memory.max": "536870912\n",
			"sys/fs/cgroup/system.slice/memory.max":              "max\n",
		}, 512 * mib},
		{"v2, a parent's limit is smaller", map[string]string{
			"proc/self/cgroup": "0::/system.slice/tmcp.service\n",
			"sys/fs/cgroup/system.slice/tmcp.service/memory.max": "max\n",
			"sys/fs/cgroup/system.slice/memory.max":              "268435456\n",
		}, 256 * mib},
		{"v2 in a container: its cgroup is the mount's root", map[string]string{
			"proc/self/cgroup":         "0::/kubepods/pod1/abc\n",
			"sys/fs/cgroup/memory.max": "134217728\n",
		}, 128 * mib},
		{"v2, no limit anywhere", map[string]string{
			"proc/self/cgroup":                    "0::/user.slice\n",
			"sys/fs/cgroup/user.slice/memory.max": "max\n",
		}, 0},
		{"hybrid: the v1 memory controller limits, not the v2 line", map[string]string{
			"proc/self/cgroup": "4:memory:/docker/abc\n0::/\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "1073741824\n",
			"sys/fs/cgroup/memory.max":                              "max\n",
		}, 1024 * mib},
		{"v1, unlimited (a page-rounded MaxInt64)", map[string]string{
			"proc/self/cgroup":                           "4:cpu,memory:/\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
		}, 0},
		{"no cgroup file", map[string]string{}, 0},
		{"a limit that is no number", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "lots\n",
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CgroupMemoryLimit(fsRoot(t, tc.files)); got != tc.want {
				t.Errorf("limit %d, want %d", got, tc.want)
			}
		})
	}
}

// restore puts the collector's settings back after a test that applies
// a policy to this process.
func restore(t *testing.T) {
	gc, limit := current()
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	})
}

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestApply(t *testing.T) {
	restore(t)
	root := fsRoot(t, map[string]string{"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/memory.max": "1073741824\n"})

	p := Apply(env(nil), root)
	if p.GCPercent != GCPercent || p.CgroupLimit != 1<<30 || p.MemoryLimit != 966367641 {
		t.Fatalf("defaults: %+v", p)
	}
	if gc, limit := current(); gc != GCPercent || limit != p.MemoryLimit {
		t.Fatalf("in force: GOGC %d, limit %d; policy %+v", gc, limit, p)
	}
	if s := p.String(); !strings.Contains(s, "GOGC=400") || !strings.Contains(s, "921 MiB (90% of the cgroup's 1024 MiB)") {
		t.Errorf("String: %s", s)
	}

	// What the operator set is left alone: Go read it at start (here it
	// is set the way Go would have).
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(200 << 20)
	p = Apply(env(map[string]string{"GOGC": "50", "GOMEMLIMIT": "200MiB"}), root)
	if p.GCPercent != 50 || p.MemoryLimit != 200<<20 || p.CgroupLimit != 0 {
		t.Fatalf("operator's settings: %+v", p)
	}
	if s := p.String(); s != "GOGC=50, memory limit 200 MiB (GOMEMLIMIT)" {
		t.Errorf("String: %s", s)
	}

	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(math.MaxInt64)
	p = Apply(env(map[string]string{"GOGC": "off"}), t.TempDir())
	if p.GCPercent != -1 || p.MemoryLimit != math.MaxInt64 || p.String() != "GOGC=off, no memory limit" {
		t.Fatalf("GOGC=off, no cgroup: %+v %s", p, p)
	}
}
