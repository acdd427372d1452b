// Package postgres is the store for several tmcp instances sharing one
// PostgreSQL database (pgx v5). Consumption of codes and states is one
// conditional statement; refresh rotation and family revocation are
// transactions holding row locks, so they are correct across processes.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tmcp-dev/tmcp/pkg/store"
	"github.com/tmcp-dev/tmcp/pkg/store/sqlrow"
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

var migrations = sqlrow.Migrations(sqlrow.PostgreSQLTypes)

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

var ts = sqlrow.Nanos

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// conflict maps a unique-key violation to store.ErrConflict.
func conflict(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return store.ErrConflict
	}
	return err
}
