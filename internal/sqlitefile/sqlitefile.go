// Package sqlitefile opens a SQLite database file (pure Go,
// modernc.org/sqlite) the way every tmcp database is opened: the file and
// its -wal and -shm side files readable by their owner alone, write-ahead
// logging, a busy timeout, and IMMEDIATE transactions, which take SQLite's
// write lock up front.
package sqlitefile

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Open opens (creating if needed) the database file at path, with pragmas
// (like "foreign_keys(1)") applied on every connection besides the common
// ones. The directory is made 0700 if missing.
func Open(path string, pragmas ...string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the directory of %s: %w", path, err)
	}
	// SQLite gives its -wal and -shm files the database file's mode: make
	// that 0600 before SQLite creates any of them, and mend older ones.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f.Close()
	for _, side := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(side, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("protect %s: %w", side, err)
		}
	}
	q := url.Values{}
	for _, p := range append([]string{"busy_timeout(10000)", "journal_mode(WAL)"}, pragmas...) {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}
