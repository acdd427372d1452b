// Package gcpolicy sets how tmcp's servers collect garbage: how much
// garbage may pile up between collections, and what memory the heap
// must stay under.
//
// A server's live heap is a few megabytes while every request allocates
// some kilobytes, so with Go's defaults (GOGC=100, a 4 MiB minimum) it
// collects dozens of times a second under load, and each collection
// takes a quarter of the cores for its mark phase. GOGC=400 collects a
// fifth as often for some megabytes more; a soft limit below the
// container's memory makes the collector work harder near that limit
// instead of the kernel ending the process.
package gcpolicy

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
)

// GCPercent is the GOGC a server runs with unless GOGC is set.
const GCPercent = 400

// limitShare is the part of the cgroup's memory limit the heap's soft
// limit takes: the rest is for the stacks, the binary and the kernel's
// buffers that the cgroup also counts.
const limitShare = 0.9

// Policy is what Apply set.
type Policy struct {
	// GCPercent is the GOGC in force; -1 when GOGC=off.
	GCPercent int
	// MemoryLimit is the soft limit in force in bytes, math.MaxInt64 for
	// none; CgroupLimit is the cgroup's limit it came from, or 0.
	MemoryLimit, CgroupLimit int64
}

// String says what the policy is, for the server's log.
func (p Policy) String() string {
	gc := "GOGC=" + strconv.Itoa(p.GCPercent)
	if p.GCPercent < 0 {
		gc = "GOGC=off"
	}
	switch {
	case p.MemoryLimit == math.MaxInt64:
		return gc + ", no memory limit"
	case p.CgroupLimit > 0:
		return fmt.Sprintf("%s, memory limit %d MiB (%.0f%% of the cgroup's %d MiB)", gc, p.MemoryLimit>>20, limitShare*100, p.CgroupLimit>>20)
	default:
		return fmt.Sprintf("%s, memory limit %d MiB (GOMEMLIMIT)", gc, p.MemoryLimit>>20)
	}
}

// Apply sets the policy: GOGC=400 unless the GOGC environment variable
// says otherwise, and, unless GOMEMLIMIT is set, a soft memory limit of
// 90% of the memory the process's cgroup may use, read under root
// ("/" but in tests). Go reads GOGC and GOMEMLIMIT itself at start.
func Apply(getenv func(string) string, root string) Policy {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	var p Policy
	if getenv("GOMEMLIMIT") == "" {
		if limit := CgroupMemoryLimit(root); limit > 0 {
			p.CgroupLimit = limit
			debug.SetMemoryLimit(int64(float64(limit) * limitShare))
		}
	}
	p.GCPercent, p.MemoryLimit = current()
	return p
}

// CgroupMemoryLimit is the smallest memory limit on the process's cgroup
// and its parents (cgroup v2 memory.max, or v1 memory.limit_in_bytes),
// read under root; 0 when there is none or it cannot be read.
func CgroupMemoryLimit(root string) int64 {
	self, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return 0
	}
	// hierarchy-ID:controllers:path. A v1 memory controller, where
	// there is one, is what limits memory (a hybrid system has a v2 line
	// too); else the v2 hierarchy, "0::path".
	v2 := ""
	sc := bufio.NewScanner(bytes.NewReader(self))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		switch {
		case len(parts) != 3:
		case hasController(parts[1], "memory"):
			return smallest(filepath.Join(root, "sys/fs/cgroup/memory"), parts[2], "memory.limit_in_bytes")
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		}
	}
	if v2 == "" {
		return 0
	}
	return smallest(filepath.Join(root, "sys/fs/cgroup"), v2, "memory.max")
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// smallest walks from the cgroup at path up to the hierarchy's root and
// returns the smallest limit in file. In a container the cgroup's own
// path is often not under mount (it is the container's root there): its
// file at the mount's top is read then.
func smallest(mount, path, file string) int64 {
	var least int64
	take := func(dir string) {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return
		}
		s := strings.TrimSpace(string(b))
		n, err := strconv.ParseInt(s, 10, 64)
		// "max" (v2) or a page-rounded MaxInt64 (v1) is no limit.
		if err != nil || n <= 0 || n >= math.MaxInt64/2 {
			return
		}
		if least == 0 || n < least {
			least = n
		}
	}
	path = filepath.Clean("/" + path)
	if _, err := os.Stat(filepath.Join(mount, path)); err != nil {
		take(mount)
		return least
	}
	for {
		take(filepath.Join(mount, path))
		if path == "/" {
			return least
		}
		path = filepath.Dir(path)
	}
}

// current reads the GOGC and the soft memory limit in force.
func current() (gcPercent int, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}
