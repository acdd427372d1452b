// Package storetest is the contract every store.Store implementation must
// pass. Each backend's tests call Run with a constructor for a fresh store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// Run runs the contract suite; newStore must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ClientRoundTrip", testClientRoundTrip},
		{"PendingIsSingleUse", testPendingSingleUse},
		{"CodeConsumedOnce", testCodeConsumedOnce},
		{"CodeConsumedOnceUnderConcurrency", testCodeConcurrent},
		{"RevokeGrantRevokesTokensAndCodes", testRevokeGrant},
		{"RefreshRotation", testRefreshRotation},
		{"RefreshGraceRepeatsTheAnswer", testRefreshGrace},
		{"RefreshRotatesOnceUnderConcurrency", testRefreshConcurrent},
		{"SweepDeletesExpired", testSweep},
		{"UpstreamUpdate", testUpstreamUpdate},
		{"SigningKeys", testSigningKeys},
		{"OperatorRevocation", testOperatorRevocation},
		{"NewestGrant", testNewestGrant},
		{"UpstreamClientRegisteredOnce", testUpstreamClientOnce},
		{"ClientUpdateKeepsCredentials", testClientUpdate},
		{"GrantKeepsTheVerifiedEmailApartFromTheUsername", testGrantEmail},
		{"SweepDeletesUsedRefreshTokensPastTheirWindow", testSweepUsedRefresh},
		{"SweepDeletesIdleClientsWithoutGrants", testSweepIdleClients},
		{"ProbeWriteCommits", testProbeWrite},
		{"TokenKeepsItsKeyBinding", testTokenJKT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var t0 = time.Unix(1_800_000_000, 0)

func newGrant(t *testing.T, s store.Store) *store.Grant {
	t.Helper()
	g := &store.Grant{
		ID: secrets.Random(16), ClientID: "client-1", Subject: "user-1", Username: "demo@example.com",
		Scope: "read write", Resource: "http://localhost:8001/mcp", RedirectURI: "http://localhost:3030/callback",
		Upstream: []byte("sealed"), UpstreamExpiresAt: t0.Add(time.Hour), CreatedAt: t0,
	}
	if err := s.CreateGrant(context.Background(), g); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	return g
}

func pair(grantID string, exp time.Time) (access, refresh *store.Token) {
	iss := secrets.Random(8)
	access = &store.Token{Hash: secrets.Random(16), Kind: store.KindAccess, GrantID: grantID, Issuance: iss,
		Scope: "read", IssuedAt: t0, ExpiresAt: exp}
	refresh = &store.Token{Hash: secrets.Random(16), Kind: store.KindRefresh, GrantID: grantID, Issuance: iss,
		Scope: "read", IssuedAt: t0, ExpiresAt: exp.Add(24 * time.Hour)}
	return
}

func mustToken(t *testing.T, s store.Store, hash string) *store.Token {
	t.Helper()
	tok, err := s.GetToken(context.Background(), hash)
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	return tok
}

func testClientRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := &store.Client{ID: "c1", SecretHash: "h", Name: "Inspector", RedirectURIs: []string{"http://localhost/cb", "https://x.example/cb"},
		GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: "none",
		Scope: "read", Metadata: []byte(`{"a":1}`), CreatedAt: t0}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateClient = %v, want ErrConflict", err)
	}
	got, err := s.GetClient(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != c.Name || len(got.RedirectURIs) != 2 || got.RedirectURIs[1] != "https://x.example/cb" ||
		got.TokenEndpointAuthMethod != "none" || string(got.Metadata) != `{"a":1}` || !got.CreatedAt.Equal(t0) {
		t.Fatalf("GetClient = %+v", got)
	}
	if _, err := s.GetClient(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetClient(unknown) = %v, want ErrNotFound", err)
	}

	// List elements that a list column's encoding must quote, read by
	// many at once.
	odd := []string{"https://x.example/cb?a=1,2&b={x}", `app.example:/c"b\`, "NULL", " spaced ", ""}
	if err := s.CreateClient(ctx, &store.Client{ID: "c2", RedirectURIs: odd, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			got, err := s.GetClient(ctx, "c2")
			if err != nil || !slices.Equal(got.RedirectURIs, odd) {
				t.Errorf("GetClient(c2) = %q, %v", got.RedirectURIs, err)
			}
			if all, err := s.ListClients(ctx); err != nil || len(all) != 2 {
				t.Errorf("ListClients = %d clients, %v", len(all), err)
			}
		})
	}
	wg.Wait()
}

func testPendingSingleUse(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := &store.Pending{StateHash: "s1", BrowserHash: "b", ClientID: "c", RedirectURI: "r", Scope: "read",
		Resource: "res", CodeChallenge: "cc", ClientState: "xyz", UpstreamVerifier: "v", ExpiresAt: t0, NonceHash: "nh"}
	if err := s.SavePending(ctx, p); err != nil {
		t.Fatal(err)
	}
	// Another browser cannot take it, and does not burn it.
	if _, err := s.TakePending(ctx, "s1", "other"); !errors.Is(err, store.ErrNotYours) {
		t.Fatalf("TakePending by another browser = %v, want ErrNotYours", err)
	}
	got, err := s.TakePending(ctx, "s1", "b")
	if err != nil || got.ClientState != "xyz" || got.UpstreamVerifier != "v" || !got.ExpiresAt.Equal(t0) || got.NonceHash != "nh" {
		t.Fatalf("TakePending = %+v, %v", got, err)
	}
	if _, err := s.TakePending(ctx, "s1", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second TakePending = %v, want ErrNotFound", err)
	}
}

func testCodeConsumedOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := newGrant(t, s)
	if err := s.SaveCode(ctx, &store.Code{Hash: "code", GrantID: g.ID, ClientID: "client-1", RedirectURI: "r",
		CodeChallenge: "cc", ExpiresAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	c, err := s.ConsumeCode(ctx, "code", t0)
	if err != nil || c.GrantID != g.ID || !c.UsedAt.Equal(t0) {
		t.Fatalf("ConsumeCode = %+v, %v", c, err)
	}
	c, err = s.ConsumeCode(ctx, "code", t0.Add(time.Second))
	if !errors.Is(err, store.ErrAlreadyUsed) || c == nil || c.GrantID != g.ID {
		t.Fatalf("replayed ConsumeCode = %+v, %v; want the code with ErrAlreadyUsed", c, err)
	}
	if _, err := s.ConsumeCode(ctx, "other", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsumeCode(unknown) = %v", err)
	}
}

func testCodeConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := newGrant(t, s)
	if err := s.SaveCode(ctx, &store.Code{Hash: "race", GrantID: g.ID, ClientID: "c", RedirectURI: "r", ExpiresAt: t0}); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ConsumeCode(ctx, "race", t0); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrAlreadyUsed) {
				t.Errorf("ConsumeCode: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent redemptions succeeded, want exactly 1", wins.Load())
	}
}

func testRevokeGrant(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := newGrant(t, s)
	other := newGrant(t, s)
	a, r := pair(g.ID, t0.Add(time.Hour))
	oa, _ := pair(other.ID, t0.Add(time.Hour))
	if err := s.SaveTokens(ctx, a, r, oa); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCode(ctx, &store.Code{Hash: "c2", GrantID: g.ID, ExpiresAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx, g.ID, t0); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{a.Hash, r.Hash} {
		if tok := mustToken(t, s, h); !tok.RevokedAt.Equal(t0) {
			t.Errorf("token %s not revoked: %+v", h, tok)
		}
	}
	if tok := mustToken(t, s, oa.Hash); !tok.RevokedAt.IsZero() {
		t.Errorf("token of another grant was revoked")
	}
	if tok, gr, err := s.GetTokenGrant(ctx, a.Hash); err != nil || tok.Hash != a.Hash || gr.ID != g.ID || !gr.RevokedAt.Equal(t0) || !tok.RevokedAt.Equal(t0) {
		t.Errorf("GetTokenGrant = %+v %+v %v", tok, gr, err)
	}
	if _, _, err := s.GetTokenGrant(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTokenGrant(unknown) = %v", err)
	}
	if gg, _ := s.GetGrant(ctx, g.ID); !gg.RevokedAt.Equal(t0) {
		t.Errorf("grant not marked revoked: %+v", gg)
	}
	if _, err := s.ConsumeCode(ctx, "c2", t0); !errors.Is(err, store.ErrAlreadyUsed) {
		t.Errorf("code of revoked grant still redeemable: %v", err)
	}
	if err := s.RevokeGrant(ctx, "missing", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeGrant(unknown) = %v", err)
	}
}

func testRefreshRotation(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := newGrant(t, s)
	a1, r1 := pair(g.ID, t0.Add(time.Hour))
	if err := s.SaveTokens(ctx, a1, r1); err != nil {
		t.Fatal(err)
	}
	a2, r2 := pair(g.ID, t0.Add(2*time.Hour))
	if err := s.RotateRefresh(ctx, r1.Hash, t0, singleUse, []*store.Token{a2, r2}, store.Answer{}); err != nil {
		t.Fatalf("first rotation: %v", err)
	}
	if tok := mustToken(t, s, r1.Hash); !tok.UsedAt.Equal(t0) || tok.Successor != a2.Issuance {
		t.Fatalf("old refresh after rotation = %+v", tok)
	}
	// Reuse with no grace: the whole family goes.
	a3, r3 := pair(g.ID, t0.Add(3*time.Hour))
	if err := s.RotateRefresh(ctx, r1.Hash, t0.Add(time.Second), singleUse, []*store.Token{a3, r3}, store.Answer{}); !errors.Is(err, store.ErrReused) {
		t.Fatalf("reuse = %v, want ErrReused", err)
	}
	for _, h := range []string{a1.Hash, a2.Hash, r2.Hash} {
		if tok := mustToken(t, s, h); tok.RevokedAt.IsZero() {
			t.Errorf("token %s survived reuse detection", h)
		}
	}
	if _, err := s.GetToken(ctx, a3.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tokens of a refused rotation were saved: %v", err)
	}
	if err := s.RotateRefresh(ctx, r2.Hash, t0.Add(2*time.Second), singleUse, nil, store.Answer{}); !errors.Is(err, store.ErrRevoked) {
		t.Errorf("rotating a revoked family = %v, want ErrRevoked", err)
	}
	if err := s.RotateRefresh(ctx, a2.Hash, t0, singleUse, nil, store.Answer{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rotating an access token = %v, want ErrNotFound", err)
	}
}

// The store carries out whatever the policy decides; these two policies
// exercise each Rotation (the auth server's own rule is tested there).
func singleUse(old *store.Token) store.Rotation {
	if old.UsedAt.IsZero() {
		return store.RotateFirst
	}
	return store.RevokeFamily
}

// retryWhileKept retries while the token holds a kept answer; the store
// drops that answer when the successor is used (the time limit is the
// auth server's rule, tested there).
func retryWhileKept(old *store.Token) store.Rotation {
	if old.UsedAt.IsZero() {
		return store.RotateFirst
	}
	if len(old.Answer.Sealed) > 0 {
		return store.RotateRetry
	}
	return store.RevokeFamily
}

// A retry changes nothing and sees the kept answer; once the successor
// is rotated, or the sweep passes the answer's end, the answer is gone.
func testRefreshGrace(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := newGrant(t, s)
	a1, r1 := pair(g.ID, t0.Add(time.Hour))
	if err := s.SaveTokens(ctx, a1, r1); err != nil {
		t.Fatal(err)
	}
	answer := store.Answer{Sealed: []byte("sealed answer"), Until: t0.Add(10 * time.Second)}
	a2, r2 := pair(g.ID, t0.Add(time.Hour))
	if err := s.RotateRefresh(ctx, r1.Hash, t0, retryWhileKept, []*store.Token{a2, r2}, answer); err != nil {
		t.Fatal(err)
	}
	if tok := mustToken(t, s, r1.Hash); string(tok.Answer.Sealed) != "sealed answer" || !tok.Answer.Until.Equal(answer.Until) {
		t.Fatalf("kept answer = %+v", tok.Answer)
	}
	for i := range 2 {
		var seen []byte
		a3, r3 := pair(g.ID, t0.Add(time.Hour))
		err := s.RotateRefresh(ctx, r1.Hash, t0.Add(5*time.Second), func(old *store.Token) store.Rotation {
			seen = old.Answer.Sealed
			return retryWhileKept(old)
		}, []*store.Token{a3, r3}, store.Answer{Sealed: []byte("other")})
		if err != nil || string(seen) != "sealed answer" {
			t.Fatalf("retry %d within grace: %v, saw %q", i+1, err, seen)
		}
		if _, err := s.GetToken(ctx, r3.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a retry saved tokens: %v", err)
		}
	}
	if tok := mustToken(t, s, r2.Hash); !tok.RevokedAt.IsZero() {
		t.Fatal("a retry revoked the first answer's refresh token")
	}

	// The successor is used: the predecessor's answer is dropped, and a
	// late retry of it revokes the family.
	a4, r4 := pair(g.ID, t0.Add(time.Hour))
	if err := s.RotateRefresh(ctx, r2.Hash, t0.Add(6*time.Second), retryWhileKept, []*store.Token{a4, r4},
		store.Answer{Sealed: []byte("second"), Until: t0.Add(16 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if tok := mustToken(t, s, r1.Hash); len(tok.Answer.Sealed) != 0 {
		t.Fatalf("the predecessor kept its answer after its successor was used")
	}
	if err := s.RotateRefresh(ctx, r1.Hash, t0.Add(7*time.Second), retryWhileKept, nil, store.Answer{}); !errors.Is(err, store.ErrReused) {
		t.Fatalf("retry after the successor was used = %v, want ErrReused", err)
	}
	if tok := mustToken(t, s, r4.Hash); tok.RevokedAt.IsZero() {
		t.Error("family not revoked")
	}

	// The sweep drops answers whose grace has ended.
	g2 := newGrant(t, s)
	a5, r5 := pair(g2.ID, t0.Add(time.Hour))
	a6, r6 := pair(g2.ID, t0.Add(time.Hour))
	if err := s.SaveTokens(ctx, a5, r5); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefresh(ctx, r5.Hash, t0, retryWhileKept, []*store.Token{a6, r6}, answer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sweep(ctx, t0.Add(11*time.Second), store.Retention{}); err != nil {
		t.Fatal(err)
	}
	if tok := mustToken(t, s, r5.Hash); len(tok.Answer.Sealed) != 0 || !tok.Answer.Until.IsZero() {
		t.Fatalf("the sweep kept an answer past its grace: %+v", tok.Answer)
	}
}

func testRefreshConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := newGrant(t, s)
	a1, r1 := pair(g.ID, t0.Add(time.Hour))
	if err := s.SaveTokens(ctx, a1, r1); err != nil {
		t.Fatal(err)
	}
	var ok, reused atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, r := pair(g.ID, t0.Add(time.Hour))
			switch err := s.RotateRefresh(ctx, r1.Hash, t0, singleUse, []*store.Token{a, r}, store.Answer{}); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrReused), errors.Is(err, store.ErrRevoked):
				reused.Add(1)
			default:
				t.Errorf("RotateRefresh: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || reused.Load() != 7 {
		t.Fatalf("rotations: %d succeeded, %d refused; want 1 and 7", ok.Load(), reused.Load())
	}
}

func testSweep(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := newGrant(t, s)
	live, _ := pair(g.ID, t0.Add(time.Hour))
	dead, _ := pair(g.ID, t0.Add(-time.Minute))
	if err := s.SaveTokens(ctx, live, dead); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePending(ctx, &store.Pending{StateHash: "old", ExpiresAt: t0.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePending(ctx, &store.Pending{StateHash: "new", ExpiresAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Sweep(ctx, t0, store.Retention{})
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2 rows", n, err)
	}
	if _, err := s.GetToken(ctx, dead.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired token kept")
	}
	mustToken(t, s, live.Hash)
	if _, err := s.TakePending(ctx, "new", ""); err != nil {
		t.Errorf("live pending swept: %v", err)
	}
}

// The verified address is kept apart from the username, which may look
// like an address and is not one; a grant without one reads back empty.
func testGrantEmail(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := &store.Grant{ID: secrets.Random(16), ClientID: "c", Subject: "u", Username: "mallory@corp.example",
		Email: "m@verified.example", CreatedAt: t0}
	plain := &store.Grant{ID: secrets.Random(16), ClientID: "c", Subject: "u2", Username: "bob", CreatedAt: t0}
	for _, x := range []*store.Grant{g, plain} {
		if err := s.CreateGrant(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.GetGrant(ctx, g.ID); err != nil || got.Email != g.Email || got.Username != g.Username {
		t.Fatalf("GetGrant = %+v, %v", got, err)
	}
	if got, err := s.GetGrant(ctx, plain.ID); err != nil || got.Email != "" {
		t.Fatalf("GetGrant without an address = %+v, %v", got, err)
	}
	a, _ := pair(g.ID, t0.Add(time.Hour))
	if err := s.SaveTokens(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, got, err := s.GetTokenGrant(ctx, a.Hash); err != nil || got.Email != g.Email || got.Username != g.Username {
		t.Fatalf("GetTokenGrant = %+v, %v", got, err)
	}
}

// testTokenJKT: a DPoP-bound token keeps the thumbprint of its key
// (RFC 9449 §6), a bearer token none.
func testTokenJKT(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := newGrant(t, s)
	a, r := pair(g.ID, t0.Add(time.Hour))
	a.JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	if err := s.SaveTokens(ctx, a, r); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.GetTokenGrant(ctx, a.Hash); err != nil || got.JKT != a.JKT {
		t.Fatalf("GetTokenGrant = %+v, %v", got, err)
	}
	if got := mustToken(t, s, r.Hash); got.JKT != "" {
		t.Fatalf("a bearer token came back bound to %q", got.JKT)
	}
}

func testUpstreamUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := newGrant(t, s)
	exp := t0.Add(2 * time.Hour)
	if err := s.UpdateUpstream(ctx, g.ID, []byte("new"), exp); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetGrant(ctx, g.ID)
	if err != nil || string(got.Upstream) != "new" || !got.UpstreamExpiresAt.Equal(exp) {
		t.Fatalf("GetGrant = %+v, %v", got, err)
	}
	if err := s.UpdateUpstream(ctx, "missing", nil, exp); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateUpstream(unknown) = %v", err)
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	if keys, err := s.ListKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("ListKeys(empty) = %v, %v", keys, err)
	}
	for i, kid := range []string{"k1", "k2"} {
		k := &store.SigningKey{KID: kid, Alg: "ES256", Private: []byte("sealed"), Public: []byte(`{"kid":"` + kid + `"}`),
			CreatedAt: t0.Add(time.Duration(i) * time.Hour)}
		if err := s.SaveKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := s.RetireKeys(ctx, t0.Add(30*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.SaveKey(ctx, &store.SigningKey{KID: "k1", Alg: "ES256", Private: []byte("x"), Public: []byte("x"), CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate kid = %v", err)
	}
	keys, err := s.ListKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].KID != "k2" || !keys[0].RetiredAt.IsZero() ||
		keys[1].KID != "k1" || !keys[1].RetiredAt.Equal(t0.Add(30*time.Minute)) || string(keys[1].Private) != "sealed" {
		t.Fatalf("ListKeys = %+v, %v", keys, err)
	}
}

func testOperatorRevocation(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, id := range []string{"client-1", "client-2"} {
		if err := s.CreateClient(ctx, &store.Client{ID: id, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if cs, err := s.ListClients(ctx); err != nil || len(cs) != 2 || cs[0].ID != "client-1" {
		t.Fatalf("ListClients = %v, %v", cs, err)
	}
	g1, g2 := newGrant(t, s), newGrant(t, s) // user-1 via client-1
	other := &store.Grant{ID: "g-other", ClientID: "client-2", Subject: "user-2", CreatedAt: t0}
	if err := s.CreateGrant(ctx, other); err != nil {
		t.Fatal(err)
	}
	a, _ := pair(g1.ID, t0.Add(time.Hour))
	oa, _ := pair(other.ID, t0.Add(time.Hour))
	if err := s.SaveTokens(ctx, a, oa); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RevokeGrantsOf(ctx, "user-1", "", t0); err != nil || n != 2 {
		t.Fatalf("RevokeGrantsOf(user-1) = %d, %v", n, err)
	}
	if tok := mustToken(t, s, a.Hash); tok.RevokedAt.IsZero() {
		t.Fatal("user-1's token survived")
	}
	if tok := mustToken(t, s, oa.Hash); !tok.RevokedAt.IsZero() {
		t.Fatal("user-2's token was revoked")
	}
	if n, _ := s.RevokeGrantsOf(ctx, "user-1", "", t0); n != 0 {
		t.Fatalf("revoking again counted %d grants", n)
	}
	if err := s.DeleteClient(ctx, "client-2", t0); err != nil {
		t.Fatal(err)
	}
	if tok := mustToken(t, s, oa.Hash); tok.RevokedAt.IsZero() {
		t.Fatal("a deleted client's token survived")
	}
	if _, err := s.GetClient(ctx, "client-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("deleted client still found")
	}
	if err := s.DeleteClient(ctx, "client-2", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice = %v", err)
	}
	_ = g2
}

func testNewestGrant(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.NewestGrant(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("NewestGrant of an empty store = %v, want ErrNotFound", err)
	}
	newGrant(t, s)
	later := &store.Grant{ID: secrets.Random(16), ClientID: "c", Subject: "u", Upstream: []byte("sealed later"), CreatedAt: t0.Add(time.Minute)}
	if err := s.CreateGrant(ctx, later); err != nil {
		t.Fatal(err)
	}
	if g, err := s.NewestGrant(ctx); err != nil || g.ID != later.ID {
		t.Fatalf("NewestGrant = %v, %v; want the later grant", g, err)
	}
}

// Of instances starting together, one claims the registration of tmcp's
// client; the others wait until it is stored or the claim runs out.
func testUpstreamClientOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetUpstreamClient(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty store: %v, want ErrNotFound", err)
	}
	var wg sync.WaitGroup
	won := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := fmt.Sprintf("instance-%d", i)
			ok, err := s.ClaimUpstreamRegistration(ctx, holder, t0, t0.Add(time.Minute))
			if err != nil {
				t.Errorf("claim: %v", err)
			}
			if ok {
				won <- holder
			}
		}()
	}
	wg.Wait()
	close(won)
	var winners []string
	for w := range won {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("%d instances claimed the registration, want 1: %v", len(winners), winners)
	}
	other := "instance-x"
	if err := s.SaveUpstreamClient(ctx, other, []byte("not mine")); !errors.Is(err, store.ErrNotYours) {
		t.Fatalf("save without the claim: %v, want ErrNotYours", err)
	}
	if ok, _ := s.ClaimUpstreamRegistration(ctx, other, t0.Add(30*time.Second), t0.Add(2*time.Minute)); ok {
		t.Fatal("a claim was taken over before it ran out")
	}
	// The winner gives up (a failed registration); another may then claim.
	if ok, _ := s.ClaimUpstreamRegistration(ctx, winners[0], t0.Add(time.Second), t0.Add(time.Second)); !ok {
		t.Fatal("the holder could not give its claim up")
	}
	if ok, _ := s.ClaimUpstreamRegistration(ctx, other, t0.Add(2*time.Second), t0.Add(time.Minute)); !ok {
		t.Fatal("a given-up claim could not be taken")
	}
	if err := s.SaveUpstreamClient(ctx, other, []byte("sealed client")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetUpstreamClient(ctx); err != nil || string(got) != "sealed client" {
		t.Fatalf("stored client = %q, %v", got, err)
	}
	if ok, _ := s.ClaimUpstreamRegistration(ctx, "late", t0.Add(time.Hour), t0.Add(2*time.Hour)); ok {
		t.Fatal("a stored client was claimed again")
	}
}

// An RFC 7592 update replaces the metadata and keeps what proves the
// client: its secret and its registration access token.
func testClientUpdate(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := &store.Client{ID: "c-update", SecretHash: "secret-hash", Name: "before", RedirectURIs: []string{"https://a.example/cb"},
		GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: "client_secret_basic",
		Scope: "read", Metadata: []byte(`{"client_name":"before"}`), CreatedAt: t0, RegistrationTokenHash: "rat-hash"}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	u := *c
	u.Name, u.RedirectURIs, u.Scope, u.Metadata = "after", []string{"https://b.example/cb", "https://c.example/cb"}, "read write", []byte(`{"client_name":"after"}`)
	u.SecretHash, u.RegistrationTokenHash = "ignored", "ignored"
	if err := s.UpdateClient(ctx, &u); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetClient(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "after" || len(got.RedirectURIs) != 2 || got.Scope != "read write" || string(got.Metadata) != `{"client_name":"after"}` ||
		got.SecretHash != "secret-hash" || got.RegistrationTokenHash != "rat-hash" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("after update: %+v", got)
	}
	u.ID = "c-nobody"
	if err := s.UpdateClient(ctx, &u); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of an unknown client: %v", err)
	}
}

// A rotated refresh token is kept while its grace may answer a retry
// and its window lasts, then deleted; the family's current token and the
// grant stay, and without a window nothing used is deleted before expiry.
func testSweepUsedRefresh(t *testing.T, s store.Store) {
	ctx := context.Background()
	g := newGrant(t, s)
	a1, r1 := pair(g.ID, t0.Add(time.Hour))
	a2, r2 := pair(g.ID, t0.Add(time.Hour))
	if err := s.SaveTokens(ctx, a1, r1); err != nil {
		t.Fatal(err)
	}
	answer := store.Answer{Sealed: []byte("first"), Until: t0.Add(10 * time.Second)}
	if err := s.RotateRefresh(ctx, r1.Hash, t0, retryWhileKept, []*store.Token{a2, r2}, answer); err != nil {
		t.Fatal(err)
	}
	keep := store.Retention{UsedRefresh: time.Minute}
	for _, at := range []time.Time{t0.Add(5 * time.Second), t0.Add(59 * time.Second)} {
		if _, err := s.Sweep(ctx, at, keep); err != nil {
			t.Fatal(err)
		}
		mustToken(t, s, r1.Hash)
	}
	if _, err := s.Sweep(ctx, t0.Add(2*time.Minute), store.Retention{}); err != nil {
		t.Fatal(err)
	}
	mustToken(t, s, r1.Hash)
	if _, err := s.Sweep(ctx, t0.Add(2*time.Minute), keep); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(ctx, r1.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("used refresh token past its window: %v, want ErrNotFound", err)
	}
	mustToken(t, s, r2.Hash)
	mustToken(t, s, a2.Hash)
	if _, err := s.GetGrant(ctx, g.ID); err != nil {
		t.Fatalf("the grant went with its used token: %v", err)
	}
}

// A client that holds no grant and has neither registered nor signed
// anyone in within the idle time is deleted; a sign-in (a new grant)
// counts as use, and a client holding a grant stays however old.
func testSweepIdleClients(t *testing.T, s store.Store) {
	ctx := context.Background()
	idle := 90 * 24 * time.Hour
	for _, id := range []string{"unused", "signed-in", "holder"} {
		if err := s.CreateClient(ctx, &store.Client{ID: id, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	later := t0.Add(60 * 24 * time.Hour)
	g := &store.Grant{ID: secrets.Random(16), ClientID: "signed-in", Subject: "u", CreatedAt: later}
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx, g.ID, later); err != nil {
		t.Fatal(err)
	}
	held := &store.Grant{ID: secrets.Random(16), ClientID: "holder", Subject: "u", CreatedAt: t0}
	if err := s.CreateGrant(ctx, held); err != nil {
		t.Fatal(err)
	}
	_, r := pair(held.ID, t0.Add(200*24*time.Hour))
	if err := s.SaveTokens(ctx, r); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(idle + time.Hour)
	if _, err := s.Sweep(ctx, now, store.Retention{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetClient(ctx, "unused"); err != nil {
		t.Fatalf("a sweep without an idle time deleted a client: %v", err)
	}
	if _, err := s.Sweep(ctx, now, store.Retention{ClientIdle: idle}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetClient(ctx, "unused"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("idle client kept: %v", err)
	}
	for _, id := range []string{"signed-in", "holder"} {
		if _, err := s.GetClient(ctx, id); err != nil {
			t.Errorf("client %s swept: %v", id, err)
		}
	}
}

// The write probe commits, and again (it writes one row, not one per call).
func testProbeWrite(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 3 {
		if err := s.ProbeWrite(ctx, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatalf("probe %d: %v", i, err)
		}
	}
}
