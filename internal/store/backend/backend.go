// Package backend opens the store a location names: a postgres:// URL
// for PostgreSQL, anything else a SQLite file path.
package backend

import (
	"context"
	"fmt"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/postgres"
	"github.com/tmcp-dev/tmcp/internal/store/sqlite"
)

// IsPostgres reports whether location names a PostgreSQL database.
func IsPostgres(location string) bool {
	return strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://")
}

// Check refuses a location that is neither a postgres:// URL nor a file
// path: a mistyped URL would otherwise become a SQLite file of that name.
func Check(location string) error {
	if IsPostgres(location) {
		return nil
	}
	if i := strings.Index(location, ":"); i > 1 && !strings.ContainsAny(location[:i], `/\\`) {
		return fmt.Errorf("%q is not a storage tmcp knows: use a postgres://… URL or a SQLite file path", location)
	}
	return nil
}

// Open opens (and migrates) the store at location.
func Open(ctx context.Context, location string) (store.Store, error) {
	if err := Check(location); err != nil {
		return nil, err
	}
	if IsPostgres(location) {
		return postgres.Open(ctx, location)
	}
	return sqlite.Open(ctx, location)
}

// Describe names a location for logs and messages without its password.
func Describe(location string) string {
	if !IsPostgres(location) {
		return "sqlite " + location
	}
	if at := strings.LastIndex(location, "@"); at > 0 {
		scheme := location[:strings.Index(location, "://")+3]
		return "postgres " + scheme + "…@" + location[at+1:]
	}
	return "postgres " + location
}
