// Package postgres is the store for several tmcp instances sharing one
// PostgreSQL database (pgx v5). Consumption of codes and states is one
// conditional statement; refresh rotation and family revocation are
// transactions holding row locks, so they are correct across processes.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tmcp-dev/tmcp/pkg/store"
)

// Store implements store.Store on PostgreSQL.
type Store struct{ pool *pgxpool.Pool }

var _ store.Store = (*Store)(nil)

// Open connects to dsn (postgres://…) and applies the migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL DSN: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool}
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
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
		redirect_uris TEXT[] NOT NULL,
		grant_types TEXT[] NOT NULL,
		response_types TEXT[] NOT NULL,
		auth_method TEXT NOT NULL,
		scope TEXT NOT NULL,
		metadata BYTEA,
		created_at BIGINT NOT NULL
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
		expires_at BIGINT NOT NULL
	);
	CREATE TABLE grants (
		id TEXT PRIMARY KEY,
		client_id TEXT NOT NULL,
		subject TEXT NOT NULL,
		username TEXT NOT NULL,
		scope TEXT NOT NULL,
		resource TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		upstream BYTEA,
		upstream_expires_at BIGINT NOT NULL,
		created_at BIGINT NOT NULL,
		revoked_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX grants_subject ON grants(subject);
	CREATE INDEX grants_client ON grants(client_id);
	CREATE TABLE codes (
		hash TEXT PRIMARY KEY,
		grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
		client_id TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		code_challenge TEXT NOT NULL,
		expires_at BIGINT NOT NULL,
		used_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX codes_grant ON codes(grant_id);
	CREATE TABLE tokens (
		hash TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
		issuance TEXT NOT NULL,
		scope TEXT NOT NULL,
		issued_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		revoked_at BIGINT NOT NULL DEFAULT 0,
		used_at BIGINT NOT NULL DEFAULT 0,
		successor TEXT NOT NULL DEFAULT '',
		grace_used BOOLEAN NOT NULL DEFAULT FALSE
	);
	CREATE INDEX tokens_grant ON tokens(grant_id);
	CREATE INDEX tokens_issuance ON tokens(issuance);
	CREATE INDEX tokens_expires ON tokens(expires_at);
	CREATE TABLE consents (
		subject TEXT NOT NULL,
		client_id TEXT NOT NULL,
		redirect_uri TEXT NOT NULL,
		scope TEXT NOT NULL,
		granted_at BIGINT NOT NULL,
		PRIMARY KEY (subject, client_id, redirect_uri)
	);`,
	`CREATE TABLE signing_keys (
		kid TEXT PRIMARY KEY,
		alg TEXT NOT NULL,
		private BYTEA NOT NULL,
		public BYTEA NOT NULL,
		created_at BIGINT NOT NULL,
		retired_at BIGINT NOT NULL DEFAULT 0
	);`,
	// Remembered consent lives in the browser's signed cookie (see
	// authserver/consent.go); the table was written and never read.
	`DROP TABLE consents;`,
	// A refresh retry within grace gets the same answer (sealed here
	// until the grace ends) instead of a second one.
	`ALTER TABLE tokens DROP COLUMN grace_used;
	ALTER TABLE tokens ADD COLUMN answer BYTEA;
	ALTER TABLE tokens ADD COLUMN answer_until BIGINT NOT NULL DEFAULT 0;
	CREATE INDEX tokens_successor ON tokens(successor) WHERE successor != '';
	CREATE INDEX tokens_answer_until ON tokens(answer_until) WHERE answer_until != 0;`,
}

// SchemaVersionCurrent is the version Migrate brings a schema to.
var SchemaVersionCurrent = len(migrations)

// Migrate brings the schema to the newest version. An advisory lock lets
// several instances start at once.
func (s *Store) Migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7342015)`); err != nil {
		return err
	}
	if err := store.ApplyMigrations(ctx, migrationTx{tx}, migrations); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

type migrationTx struct{ tx pgx.Tx }

func (m migrationTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := m.tx.Exec(ctx, query, args...)
	return err
}

func (m migrationTx) Version(ctx context.Context) (int, bool, error) {
	var v int
	err := m.tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return v, err == nil, err
}

func (migrationTx) SetVersion() string { return `UPDATE schema_version SET version = $1` }

// SchemaVersion reports the applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	return v, s.pool.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
}

func (s *Store) Close() error                   { s.pool.Close(); return nil }
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

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

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func orEmpty(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
