package sqlrow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/store/sqlrow"
)

func TestInsert_PlaceholdersMatchTheColumns(t *testing.T) {
	if got, want := sqlrow.Insert("codes", "a, b, c", false), `INSERT INTO codes (a, b, c) VALUES (?, ?, ?)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := sqlrow.Insert("codes", "a, b, c", true), `INSERT INTO codes (a, b, c) VALUES ($1, $2, $3)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNanos_ZeroMeansNotSet(t *testing.T) {
	if sqlrow.Nanos(time.Time{}) != 0 || !sqlrow.Time(0).IsZero() {
		t.Fatal("the zero time must be kept as 0 and read back as zero")
	}
	at := time.Date(2026, 11, 27, 13, 0, 0, 123, time.UTC)
	if got := sqlrow.Time(sqlrow.Nanos(at)); !got.Equal(at) {
		t.Fatalf("round trip: %v, want %v", got, at)
	}
}

func TestTokenGrantQuery_PrefixesEveryColumn(t *testing.T) {
	q := sqlrow.TokenGrantQuery("t.hash = ?")
	for _, col := range []string{"t.jkt", "g.revoked_at", "t.hash, t.kind", "g.id, g.client_id"} {
		if !strings.Contains(q, col) {
			t.Errorf("query lacks %q: %s", col, q)
		}
	}
	// Nothing sealed: those are read where they are opened.
	for _, col := range []string{"upstream", "answer"} {
		if strings.Contains(q, col) {
			t.Errorf("query reads %q: %s", col, q)
		}
	}
}
