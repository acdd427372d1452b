package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/sqlitefile"
)

// TestReaders_KeptForReuse: reads that were in flight together leave
// their connections to the next ones, instead of each later read opening
// one again.
func TestReaders_KeptForReuse(t *testing.T) {
	db, err := sqlitefile.Open(filepath.Join(t.TempDir(), "tmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keepReaders(db)
	ctx := context.Background()
	const inFlight = 32
	for round := 0; round < 2; round++ {
		conns := make([]*sql.Conn, inFlight)
		for i := range conns {
			if conns[i], err = db.Conn(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
	if st := db.Stats(); st.MaxIdleClosed != 0 || st.OpenConnections != inFlight {
		t.Fatalf("after two rounds of %d reads at once: %d connections closed as surplus, %d open; want 0 closed, %d open",
			inFlight, st.MaxIdleClosed, st.OpenConnections, inFlight)
	}
}
