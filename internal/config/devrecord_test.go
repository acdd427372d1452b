package config_test

import (
	"os"
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
