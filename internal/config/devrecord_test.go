package config_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/config"
)

func TestDevRecord_WrittenReadRemovedAndIgnoredWhenStale(t *testing.T) {
	dir := t.TempDir()
	rec := config.DevRecord{Sandbox: "http://localhost:4321", Auth: "http://localhost:9000", Resource: "http://localhost:8001/mcp", PID: os.Getpid()}
	remove, err := config.WriteDevRecord(dir, rec)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := config.ReadDevRecord(dir); err != nil || *got != rec {
		t.Fatalf("read %+v, %v", got, err)
	}
	remove()
	if _, err := config.ReadDevRecord(dir); err == nil {
		t.Fatal("a removed record was read")
	}
	rec.PID = 1 << 22 // beyond pid_max: no such process
	if _, err := config.WriteDevRecord(dir, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := config.ReadDevRecord(dir); err == nil {
		t.Fatal("a record of a tmcp dev that is gone was used")
	}
}

// One tmcp dev per state directory: a lock held by a running process
// refuses a second, a lock whose process is gone is taken over.
func TestLockStateDir_OneHolderStaleTakenOver(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, config.FileDevLock)
	if err := os.WriteFile(lock, []byte("1\n"), 0o600); err != nil { // init runs
		t.Fatal(err)
	}
	if _, err := config.LockStateDir(dir); err == nil || !strings.Contains(err.Error(), "another tmcp dev (process 1)") {
		t.Fatalf("a held lock was taken: %v", err)
	}
	if err := os.WriteFile(lock, []byte(strconv.Itoa(1<<22)+"\n"), 0o600); err != nil { // beyond pid_max
		t.Fatal(err)
	}
	unlock, err := config.LockStateDir(dir)
	if err != nil {
		t.Fatalf("a stale lock was not taken over: %v", err)
	}
	if raw, _ := os.ReadFile(lock); strings.TrimSpace(string(raw)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("the lock names %q", raw)
	}
	unlock()
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Fatal("unlock left the lock")
	}
}
