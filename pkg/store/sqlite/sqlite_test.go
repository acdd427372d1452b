package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/sqlite"
	"github.com/tmcp-dev/tmcp/pkg/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tmcp.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpen_ReopenKeepsDataAndRestrictsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "tmcp.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, &store.Client{ID: "kept"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.GetClient(ctx, "kept"); err != nil {
		t.Fatalf("client lost across restart: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("database mode = %v, want 0600", info.Mode().Perm())
	}
}
