package store

import (
	"context"
	"fmt"
)

// MigrationTx is a backend's migration transaction, in its own SQL.
type MigrationTx interface {
	Exec(ctx context.Context, query string, args ...any) error
	// Version reads the schema_version row; ok is false when there is none.
	Version(ctx context.Context) (version int, ok bool, err error)
	// SetVersion is the statement that stores the version (one parameter).
	SetVersion() string
}

// ApplyMigrations brings the schema up to len(migrations) in tx: it makes
// the version table on first use, then applies each migration not yet
// applied. A schema newer than this tmcp knows is refused, not touched.
func ApplyMigrations(ctx context.Context, tx MigrationTx, migrations []string) error {
	if err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	version, ok, err := tx.Version(ctx)
	if err != nil {
		return err
	}
	if !ok {
		if err := tx.Exec(ctx, `INSERT INTO schema_version VALUES (0)`); err != nil {
			return err
		}
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this tmcp knows (%d); upgrade tmcp", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if err := tx.Exec(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return tx.Exec(ctx, tx.SetVersion(), len(migrations))
}
