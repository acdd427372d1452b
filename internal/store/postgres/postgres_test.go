package postgres_test

import (
	"context"
	"sync"
	"testing"

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
