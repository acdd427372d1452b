package authserver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// --client-idle-ttl: a registered client that holds no grant and signs
// nobody in for that long is swept; one holding a grant stays.
func TestSweep_IdleClientsGoAndClientsInUseStay(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	s := signIn(t, testkit.AuthOptions{Now: clock.Now, Mutate: func(c *authserver.Config) { c.ClientIdleTTL = 24 * time.Hour }})
	s.tokens(t)
	idle := s.stack.PublicClient(t)
	clock.Advance(25 * time.Hour)
	s.stack.Auth.Sweep(context.Background())
	if _, err := s.stack.Store.GetClient(context.Background(), idle.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a client idle past --client-idle-ttl: %v, want swept", err)
	}
	if _, err := s.stack.Store.GetClient(context.Background(), s.c.ClientID); err != nil {
		t.Fatalf("a client holding a grant was swept: %v", err)
	}
}
