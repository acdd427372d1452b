package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/sqlite"
	"github.com/tmcp-dev/tmcp/internal/store/storetest"
)

// open opens the store at path, or fails the test.
func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, filepath.Join(t.TempDir(), "tmcp.db")) })
}

func TestOpen_ReopenKeepsDataAndRestrictsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "tmcp.db")
	ctx := context.Background()
	s := open(t, path)
	if err := s.CreateClient(ctx, &store.Client{ID: "kept"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
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

func fileSize(t *testing.T, paths ...string) int64 {
	t.Helper()
	var n int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// The database and its side files are the owner's alone, and a sweep
// gives the space of what it deleted back (incremental auto-vacuum, WAL
// checkpoint), so the file does not keep its peak size forever.
func TestSweep_ShrinksTheFileAndSideFilesArePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tmcp.db")
	ctx := context.Background()
	s := open(t, path)
	defer s.Close()
	t0 := time.Unix(1_800_000_000, 0)
	g := &store.Grant{ID: "g", ClientID: "c", Subject: "u", Upstream: []byte("sealed"), CreatedAt: t0}
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	for i := range 20000 {
		tok := &store.Token{Hash: fmt.Sprintf("%064d", i), Kind: store.KindAccess, GrantID: "g", Issuance: fmt.Sprint(i),
			Scope: strings.Repeat("read ", 20), IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := s.SaveTokens(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	full := fileSize(t, path, path+"-wal")
	if n, err := s.Sweep(ctx, t0.Add(2*time.Hour), store.Retention{}); err != nil || n < 20000 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	after := fileSize(t, path, path+"-wal")
	t.Logf("database and WAL: %d KiB with 20,000 tokens, %d KiB after the sweep", full>>10, after>>10)
	if after > full/4 {
		t.Fatalf("the files kept %d of %d bytes after the sweep", after, full)
	}
}

// A database migrated by a newer tmcp is refused, and left as it was.
func TestOpen_RefusesANewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tmcp.db")
	ctx := context.Background()
	s := open(t, path)
	current, err := s.SchemaVersion(ctx)
	if err != nil || current == 0 {
		t.Fatalf("schema version %d, %v", current, err)
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE schema_version SET version = ?`, current+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := sqlite.Open(ctx, path); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("database schema version %d is newer than this tmcp knows (%d); upgrade tmcp", current+1, current)) {
		t.Fatalf("open of a newer schema = %v", err)
	}
	db, _ = sql.Open("sqlite", "file:"+path)
	defer db.Close()
	var v int
	if err := db.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != current+1 {
		t.Fatalf("schema version after the refusal = %d, %v", v, err)
	}
}
