// Package sqlite is the embedded default store: one SQLite file (pure Go,
// modernc.org/sqlite) in the state directory. Writes that must be atomic
// run in IMMEDIATE transactions, which take SQLite's write lock up front.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/sqlitefile"
	"github.com/tmcp-dev/tmcp/internal/store/sqlrow"
	"github.com/tmcp-dev/tmcp/internal/store/sqlstore"
)

// Store implements store.Store on SQLite.
type Store = sqlstore.Store

// Lists are kept as JSON text.
type jsonList []string

func (l *jsonList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("list column holds %T", src)
	}
	return json.Unmarshal(b, (*[]string)(l))
}

var dialect = sqlstore.Dialect{
	Types:      sqlrow.SQLiteTypes,
	ListColumn: func(p *[]string) any { return (*jsonList)(p) },
	ListValue: func(v []string) any {
		if v == nil {
			v = []string{}
		}
		b, _ := json.Marshal(v)
		return string(b)
	},
	IsConflict: func(err error) bool { return strings.Contains(err.Error(), "UNIQUE") },
	AfterSweep: shrink,
}

// Open opens (creating if needed) the database at path and applies the
// schema migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	const pragmas = "foreign_keys(1)"
	db, err := sqlitefile.Open(path, pragmas, "synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	w, err := sqlitefile.Open(path, pragmas, "synchronous(NORMAL)")
	if err != nil {
		db.Close()
		return nil, err
	}
	keepReaders(db)
	// One writing connection, kept open: see sqlstore.Store.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	fail := func(err error) (*Store, error) {
		db.Close()
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Auto-vacuum is a property of the file, set once here: as a pragma of
	// every connection it would take the write lock for each new one and
	// stall requests under load.
	if err := incrementalVacuum(ctx, w); err != nil {
		return fail(err)
	}
	s, err := sqlstore.Open(ctx, db, w, dialect)
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// keepReaders makes the reading pool keep as many idle connections as a
// busy server has reads in flight (at least 32, 8 a core): database/sql
// keeps two by default, and under load every other read then opened a
// connection (its pragmas, the schema) and prepared its statement again,
// a third of each token lookup's time. Idle ones close after a minute,
// so a burst does not hold their memory.
func keepReaders(db *sql.DB) {
	db.SetMaxIdleConns(max(32, 8*runtime.GOMAXPROCS(0)))
	db.SetConnMaxIdleTime(time.Minute)
}

// incrementalVacuum turns on incremental auto-vacuum for a database made
// before tmcp asked for it (a one-time VACUUM), so that sweeps can give
// the space of expired rows back to the file system.
func incrementalVacuum(ctx context.Context, db *sql.DB) error {
	var mode int
	if err := db.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return err
	}
	if mode == 2 { // INCREMENTAL
		return nil
	}
	if _, err := db.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, `VACUUM`)
	return err
}

// shrink returns freed pages to the file system and truncates the WAL,
// after a sweep deleted rows.
func shrink(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}
