// Package sqlite is the embedded default store: one SQLite file (pure Go,
// modernc.org/sqlite) in the state directory. Writes that must be atomic
// run in IMMEDIATE transactions, which take SQLite's write lock up front.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/sqlrow"
)

// Store implements store.Store on SQLite.
type Store struct {
	db *sql.DB
	// tokenGrant is introspection's query, prepared once: SQLite spends
	// more time parsing a statement than running this one.
	tokenGrant *sql.Stmt
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies the
// schema migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
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
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	s := &Store{db: db}
	// Auto-vacuum is a property of the file, set once here: as a pragma of
	// every connection it would take the write lock for each new one and
	// stall requests under load.
	if err := s.incrementalVacuum(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if s.tokenGrant, err = db.PrepareContext(ctx, sqlrow.TokenGrantQuery(`t.hash = ?`)); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

var migrations = sqlrow.Migrations(sqlrow.SQLiteTypes)

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := store.ApplyMigrations(ctx, migrationTx{tx}, migrations); err != nil {
		return err
	}
	return tx.Commit()
}

type migrationTx struct{ tx *sql.Tx }

func (m migrationTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := m.tx.ExecContext(ctx, query, args...)
	return err
}

func (m migrationTx) Version(ctx context.Context) (int, bool, error) {
	var v int
	err := m.tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return v, err == nil, err
}

func (migrationTx) SetVersion() string { return `UPDATE schema_version SET version = ?` }

// Close closes the database.
func (s *Store) Close() error {
	s.tokenGrant.Close()
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

var ts = sqlrow.Nanos

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// conflict maps a unique-key violation to store.ErrConflict.
func conflict(err error) error {
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return store.ErrConflict
	}
	return err
}

// incrementalVacuum turns on incremental auto-vacuum for a database made
// before tmcp asked for it (a one-time VACUUM), so that sweeps can give
// the space of expired rows back to the file system.
func (s *Store) incrementalVacuum(ctx context.Context) error {
	var mode int
	if err := s.db.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return err
	}
	if mode == 2 { // INCREMENTAL
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `VACUUM`)
	return err
}

// shrink returns freed pages to the file system and truncates the WAL,
// after a sweep deleted rows.
func (s *Store) shrink(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}
