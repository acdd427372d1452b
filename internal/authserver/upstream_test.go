package authserver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/sqlite"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func TestRefresh_RenewsExpiredUpstreamToken(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	s := signIn(t, testkit.AuthOptions{Now: clock.Now})
	at, rt := s.tokens(t)
	grantBefore := grantOf(t, s, at)
	clock.Advance(2 * time.Hour) // TaskManager's 1 h token is now stale
	status, tok := s.c.Form(s.c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, tok)
	}
	grantAfter := grantOf(t, s, at)
	if bytes.Equal(grantBefore.Upstream, grantAfter.Upstream) || !grantAfter.UpstreamExpiresAt.After(grantBefore.UpstreamExpiresAt) {
		t.Fatal("TaskManager's token was not refreshed")
	}
}

func TestRefresh_UpstreamRefusalRevokesGrant(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	proxy := testkit.Interpose(t)
	proxy.Handle("/api/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "grant_type=refresh_token") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"user revoked access"}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.Pass(w, r)
	})
	opts := upstreamVariant(proxy)
	opts.Now = clock.Now
	s := signIn(t, opts)
	at, rt := s.tokens(t)
	clock.Advance(2 * time.Hour)
	status, body := s.c.Form(s.c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
	if g := grantOf(t, s, at); g.RevokedAt.IsZero() {
		t.Fatal("the grant survived TaskManager's refusal")
	}
}

func TestRestart_LosesNothingIssued(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{})
	access, refresh := s.tokens(t)

	// A second process on the same database and key.
	st, err := sqlite.Open(context.Background(), s.stack.StorePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	cfg := s.stack.Config
	cfg.Store, cfg.Listener, cfg.Issuer = st, ln, s.stack.Auth.URL()
	restarted, err := authserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- restarted.Run(ctx) }()
	defer func() { cancel(); <-done }()

	c := *s.c
	c.Meta.IntrospectionEndpoint = "http://" + ln.Addr().String() + "/introspect"
	c.Meta.TokenEndpoint = "http://" + ln.Addr().String() + "/oauth/token"
	if _, info := c.Introspect(access, testkit.ResourceClientID, testkit.ResourceSecret); info["active"] != true {
		t.Fatalf("access token lost across restart: %v", info)
	}
	if status, tok := c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}); status != http.StatusOK {
		t.Fatalf("refresh after restart: %d %v", status, tok)
	}
}

// grantOf loads the grant behind an access token from the stack's store.
func grantOf(t *testing.T, s *signedIn, access string) *store.Grant {
	t.Helper()
	tok, err := s.stack.Store.GetToken(context.Background(), secrets.Hash(access))
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.stack.Store.GetGrant(context.Background(), tok.GrantID)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
