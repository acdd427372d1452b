package postgres_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for a second session

	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/postgres"
	"github.com/tmcp-dev/tmcp/internal/store/storetest"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), testkit.StartPostgres(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMigrate_ConcurrentStartsApplyOnce(t *testing.T) {
	dsn := testkit.StartPostgres(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migration: %v", err)
		}
	}
	s, _ := postgres.Open(context.Background(), dsn)
	defer s.Close()
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != postgres.SchemaVersionCurrent {
		t.Fatalf("schema version = %d, %v", v, err)
	}
}

// Readiness writes: a lock held by another session on the probe's row
// (as by a stuck migration or a long transaction) fails the probe within
// its deadline, where a ping would pass.
func TestProbeWrite_FailsWithinItsDeadlineWhileTheRowIsLocked(t *testing.T) {
	dsn := testkit.StartPostgres(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Unix(1_800_000_000, 0)
	if err := s.ProbeWrite(ctx, now); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `LOCK TABLE write_probe IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping while locked: %v", err)
	}
	probeCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := s.ProbeWrite(probeCtx, now); err == nil {
		t.Fatal("the write probe passed while another session held the lock")
	}
	tx.Rollback()
	if err := s.ProbeWrite(ctx, now); err != nil {
		t.Fatalf("probe after the lock went: %v", err)
	}
}
