// Package sqlite is the embedded default store: one SQLite file (pure Go,
// modernc.org/sqlite) in the state directory. Writes that must be atomic
// run in IMMEDIATE transactions, which take SQLite's write lock up front.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tmcp-dev/tmcp/pkg/store"
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
	if s.tokenGrant, err = db.PrepareContext(ctx, tokenGrantQuery); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// migrations are applied in order; each index is a schema version.
var migrations = []string{
	`CREATE TABLE clients (
		id TEXT PRIMARY KEY,
		secret_hash TEXT NOT NULL,
		name TEXT NOT NULL,
		redirect_uris TEXT NOT NULL,
		grant_types TEXT NOT NULL,
		response_types TEXT NOT NULL,
		auth_method TEXT NOT NULL,
		scope TEXT NOT NULL,
		metadata BLOB,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE pendings (
		state_hash TEXT PRIMARY KEY,
		browser_hash TEXT NOT NULL,
		client_id TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		scope TEXT NOT NULL,
		resource TEXT NOT NULL,
		code_challenge TEXT NOT NULL,
		client_state TEXT NOT NULL,
		upstream_verifier TEXT NOT NULL,
		expires_at INTEGER NOT NULL
	);
	CREATE TABLE grants (
		id TEXT PRIMARY KEY,
		client_id TEXT NOT NULL,
		subject TEXT NOT NULL,
		username TEXT NOT NULL,
		scope TEXT NOT NULL,
		resource TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		upstream BLOB,
		upstream_expires_at INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		revoked_at INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX grants_subject ON grants(subject);
	CREATE TABLE codes (
		hash TEXT PRIMARY KEY,
		grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
		client_id TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		code_challenge TEXT NOT NULL,
		expires_at INTEGER NOT NULL,
		used_at INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE tokens (
		hash TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
		issuance TEXT NOT NULL,
		scope TEXT NOT NULL,
		issued_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		revoked_at INTEGER NOT NULL DEFAULT 0,
		used_at INTEGER NOT NULL DEFAULT 0,
		successor TEXT NOT NULL DEFAULT '',
		grace_used INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX tokens_grant ON tokens(grant_id);
	CREATE INDEX tokens_issuance ON tokens(issuance);
	CREATE INDEX tokens_expires ON tokens(expires_at);
	CREATE TABLE consents (
		subject TEXT NOT NULL,
		client_id TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		scope TEXT NOT NULL,
		granted_at INTEGER NOT NULL,
		PRIMARY KEY (subject, client_id, redirect_uri)
	);`,
	`CREATE TABLE signing_keys (
		kid TEXT PRIMARY KEY,
		alg TEXT NOT NULL,
		private BLOB NOT NULL,
		public BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		retired_at INTEGER NOT NULL DEFAULT 0
	);`,
	// Remembered consent lives in the browser's signed cookie (see
	// authserver/consent.go); the table was written and never read.
	`DROP TABLE consents;`,
	// A refresh retry within grace gets the same answer (sealed here
	// until the grace ends) instead of a second one.
	`ALTER TABLE tokens DROP COLUMN grace_used;
	ALTER TABLE tokens ADD COLUMN answer BLOB;
	ALTER TABLE tokens ADD COLUMN answer_until INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX tokens_successor ON tokens(successor) WHERE successor != '';
	CREATE INDEX tokens_answer_until ON tokens(answer_until) WHERE answer_until != 0;`,
}

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

// Times are kept as Unix nanoseconds; 0 means "not set".
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromTS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func parseList(s string) []string {
	var v []string
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
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
