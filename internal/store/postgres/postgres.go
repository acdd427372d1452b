// Package postgres is the store for several tmcp instances sharing one
// PostgreSQL database (pgx v5, through database/sql): sqlstore's
// statements, with row locks where a transaction reads what it changes.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tmcp-dev/tmcp/internal/store/sqlrow"
	"github.com/tmcp-dev/tmcp/internal/store/sqlstore"
)

// Store implements store.Store on PostgreSQL.
type Store = sqlstore.Store

// SchemaVersionCurrent is the version Open brings a schema to.
var SchemaVersionCurrent = sqlstore.SchemaVersionCurrent()

// textArray scans a TEXT[] column into a slice. pgtype's Map caches scan
// plans and is not safe for concurrent use, so each scan borrows one.
type textArray struct{ p *[]string }

var typeMaps = sync.Pool{New: func() any { return pgtype.NewMap() }}

func (a textArray) Scan(src any) error {
	m := typeMaps.Get().(*pgtype.Map)
	defer typeMaps.Put(m)
	return m.SQLScanner(a.p).Scan(src)
}

var dialect = sqlstore.Dialect{
	Numbered: true,
	LockRow:  " FOR UPDATE",
	// Several instances may start at once.
	LockMigrations: `SELECT pg_advisory_xact_lock(7342015)`,
	Types:          sqlrow.PostgreSQLTypes,
	ListColumn:     func(p *[]string) any { return textArray{p} },
	ListValue: func(v []string) any {
		if v == nil {
			return []string{}
		}
		return v
	},
	IsConflict: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505" // unique_violation
	},
}

// Open connects to dsn (postgres://…) and applies the migrations. The
// connection limits are pgxpool's, read from the DSN the same way
// (pool_max_conns, default the larger of 4 and the CPUs;
// pool_max_conn_idle_time, default 30 minutes).
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL DSN: %w", err)
	}
	db := stdlib.OpenDB(*cfg.ConnConfig)
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	db.SetConnMaxIdleTime(cfg.MaxConnIdleTime)
	db.SetConnMaxLifetime(cfg.MaxConnLifetime)
	s, err := sqlstore.Open(ctx, db, db, dialect)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
