// Package sqlstore is store.Store over database/sql, written once for
// SQLite and PostgreSQL: a Dialect holds the little that differs
// (placeholders, row locks, list columns, what a conflict looks like).
// Consumption of codes and states is one conditional statement; refresh
// rotation and family revocation are transactions, so they are correct
// across processes sharing one database.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/sqlrow"
)

// Dialect is what one database does its own way.
type Dialect struct {
	// Numbered: the database wants $1, $2… where statements here say ?.
	Numbered bool
	// LockRow ends a SELECT of a row the transaction goes on to change
	// (" FOR UPDATE"). SQLite needs none: its IMMEDIATE transactions hold
	// the database's write lock from their start.
	LockRow string
	// LockMigrations, when set, runs first in the migration transaction,
	// so that several instances starting at once migrate one at a time.
	LockMigrations string
	Types          sqlrow.Types
	ListColumn     sqlrow.ListColumn
	ListValue      func([]string) any
	IsConflict     func(error) bool
	// AfterSweep runs after a sweep removed rows.
	AfterSweep func(ctx context.Context, db *sql.DB) error
}

// Store implements store.Store on a database/sql handle.
type Store struct {
	db *sql.DB // reads
	// w takes every write. On SQLite it is one connection: writers then
	// queue in Go, in order, instead of polling SQLite's busy handler,
	// which is unfair under a burst and leaves the lock idle while they
	// sleep (a writer could wait past the store timeout).
	w          *sql.DB
	d          Dialect
	migrations []string
	// tokenGrant is introspection's query, prepared once: SQLite spends
	// more time parsing it than running it (on PostgreSQL, database/sql
	// keeps it prepared on each connection, as pgx's own cache would).
	tokenGrant *sql.Stmt
}

var _ store.Store = (*Store)(nil)

// Open migrates the schema and returns the store on it: reads go to db,
// writes to w (which may be db). Close closes both.
func Open(ctx context.Context, db, w *sql.DB, d Dialect) (*Store, error) {
	s := &Store{db: db, w: w, d: d, migrations: sqlrow.Migrations(d.Types)}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	var err error
	if s.tokenGrant, err = db.PrepareContext(ctx, s.q(sqlrow.TokenGrantQuery(`t.hash = ?`))); err != nil {
		return nil, err
	}
	return s, nil
}

// SchemaVersionCurrent is the version Open brings a schema to.
func SchemaVersionCurrent() int { return len(sqlrow.Migrations(sqlrow.Types{})) }

// SchemaVersion reports the applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	return v, s.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
}

// Close closes the database.
func (s *Store) Close() error {
	s.tokenGrant.Close()
	err := s.db.Close()
	if s.w != s.db {
		err = errors.Join(err, s.w.Close())
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// ProbeWrite commits one small write through the writing connection, so
// it queues behind the writes requests make and fails the way they would.
func (s *Store) ProbeWrite(ctx context.Context, at time.Time) error {
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO write_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`), ts(at))
	return err
}

// q is query in the dialect's placeholders.
func (s *Store) q(query string) string {
	if s.d.Numbered {
		return sqlrow.Numbered(query)
	}
	return query
}

// querier is the database or a transaction in it.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a transaction and commits it when fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// migrate brings the schema up to date in one transaction: it makes the
// version table on first use, then applies each migration not yet
// applied. A schema newer than this tmcp knows is refused, not touched.
func (s *Store) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.LockMigrations != "" {
			if _, err := tx.ExecContext(ctx, s.d.LockMigrations); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return err
		}
		var version int
		switch err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version); {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version VALUES (0)`); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if version > len(s.migrations) {
			return fmt.Errorf("database schema version %d is newer than this tmcp knows (%d); upgrade tmcp", version, len(s.migrations))
		}
		for i := version; i < len(s.migrations); i++ {
			if _, err := tx.ExecContext(ctx, s.migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE schema_version SET version = ?`), len(s.migrations))
		return err
	})
}

var ts = sqlrow.Nanos

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// conflict maps a unique-key violation to store.ErrConflict.
func (s *Store) conflict(err error) error {
	if err != nil && s.d.IsConflict(err) {
		return store.ErrConflict
	}
	return err
}

// affected is ErrNotFound (or none) when res changed no row.
func affected(res sql.Result, none error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}
