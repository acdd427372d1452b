package sqlitefile_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/sqlitefile"
)

func open(t *testing.T, path string, pragmas ...string) *sql.DB {
	t.Helper()
	db, err := sqlitefile.Open(path, pragmas...)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// conn takes a connection of db's pool for the rest of the test.
func conn(t *testing.T, db *sql.DB) *sql.Conn {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The database and its -wal and -shm files hold secrets (hashes, sealed
// tokens): they are the owner's alone, files an older version left
// readable included, and a directory made for them is too.
func TestOpen_FileAndSideFilesAreTheOwnersAlone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "old.db")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fresh := filepath.Join(t.TempDir(), "new", "state", "new.db")
	for _, p := range []string{path, fresh} {
		db := open(t, p)
		if _, err := db.Exec(`CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x')`); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{p, p + "-wal", p + "-shm"} {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %o, want 600", filepath.Base(f), fi.Mode().Perm())
			}
		}
	}
	if fi, err := os.Stat(filepath.Dir(fresh)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the new directory: %v, %v; want mode 700", fi.Mode().Perm(), err)
	}
}

// Pragmas are per connection: every connection of the pool has the common
// ones and the caller's.
func TestOpen_PragmasHoldOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		pragmas     []string
		foreignKeys string
	}{
		{nil, "0"},
		{[]string{"foreign_keys(1)"}, "1"},
	} {
		db := open(t, filepath.Join(t.TempDir(), "p.db"), tc.pragmas...)
		want := map[string]string{"journal_mode": "wal", "busy_timeout": "10000", "foreign_keys": tc.foreignKeys}
		for i, c := range []*sql.Conn{conn(t, db), conn(t, db)} {
			for name, v := range want {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != v {
					t.Errorf("pragmas %v, connection %d: %s = %s, want %s", tc.pragmas, i, name, got, v)
				}
			}
		}
	}
}

// A transaction takes the write lock when it begins (BEGIN IMMEDIATE), so
// two read-then-write transactions never deadlock on upgrading their
// locks: the second waits at its start, or with no busy timeout fails
// there.
func TestOpen_TransactionsTakeTheWriteLockAtBegin(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "tx.db"))
	first, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	other := conn(t, db)
	if _, err := other.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		t.Fatal(err)
	}
	second, err := other.BeginTx(ctx, nil)
	if err == nil {
		second.Rollback()
		t.Fatal("a second transaction began while the first held the database: transactions are deferred")
	}
	if !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
		t.Fatalf("second begin: %v, want SQLITE_BUSY", err)
	}
}
