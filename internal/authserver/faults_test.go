package authserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// The faults TaskManager may show: none of them is a refusal.
var upstreamFaults = map[string]http.HandlerFunc{
	"500 server_error": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":"server_error"}`)
	},
	"503 temporarily_unavailable": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":"temporarily_unavailable"}`)
	},
	"502 HTML": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><h1>Bad Gateway</h1></html>")
	},
	"200 garbage": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "{not json")
	},
	"reset": func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	},
	"hang": func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	},
}

// A blip at TaskManager while an MCP refresh renews the user's TaskManager
// token is a fault: the client gets 503 temporarily_unavailable with
// Retry-After and keeps its refresh token, which works once TaskManager
// is back. Only TaskManager's invalid_grant ends the grant; its
// invalid_client is the operator's problem and ends nothing.
func TestFaults_TaskManagerBlipsKeepTheGrant(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	proxy := testkit.Interpose(t)
	s := signIn(t, testkit.AuthOptions{Now: clock.Now, OnSandbox: proxy.SetTarget, Mutate: func(c *authserver.Config) {
		c.Upstream.TokenEndpoint = proxy.URL + "/api/oauth/token"
		c.Upstream.Timeout = time.Second
	}})
	at, rt := s.tokens(t)
	refresh := func() (int, http.Header, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, s.c.Meta.TokenEndpoint, strings.NewReader(url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {s.c.ClientID}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body := map[string]any{}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("refresh: %d with a body that is not JSON", resp.StatusCode)
		}
		return resp.StatusCode, resp.Header, body
	}
	for name, fault := range upstreamFaults {
		clock.Advance(2 * time.Hour) // TaskManager's token is stale: a refresh renews it
		proxy.Handle("/api/oauth/token", fault)
		status, h, body := refresh()
		if status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" || h.Get("Retry-After") == "" {
			t.Errorf("%s at TaskManager: %d %v (Retry-After %q), want 503 temporarily_unavailable", name, status, body, h.Get("Retry-After"))
		}
		if g := grantOf(t, s, at); !g.RevokedAt.IsZero() {
			t.Fatalf("%s at TaskManager revoked the grant", name)
		}
	}
	proxy.Handle("/api/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
	})
	// A refusal of tmcp's own client is named as such, not as a fault of
	// the network, and says when to try again like every 503.
	status, h, body := refresh()
	if d, _ := body["error_description"].(string); status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" ||
		h.Get("Retry-After") == "" || !strings.Contains(d, "invalid_client") || strings.Contains(d, "unreachable") {
		t.Errorf("TaskManager refusing tmcp's own client: %d %v (Retry-After %q), want 503 naming invalid_client", status, body, h.Get("Retry-After"))
	}
	if g := grantOf(t, s, at); !g.RevokedAt.IsZero() {
		t.Fatal("TaskManager refusing tmcp's own client revoked the user's grant")
	}
	// TaskManager is back: the same refresh token works.
	proxy.Handle("/api/oauth/token", nil)
	status, _, body = refresh()
	if status != http.StatusOK {
		t.Fatalf("refresh after the blips: %d %v", status, body)
	}
}

// A TaskManager failure during the sign-in, at the code exchange or at
// userinfo, reaches the MCP client as what it is: a fault it may retry
// (temporarily_unavailable), never "check tmcp's client id".
func TestFaults_SignInFaultsAreNamed(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/api/oauth/token", "/api/oauth/userinfo"} {
		for name, fault := range upstreamFaults {
			t.Run(strings.TrimPrefix(path, "/api/oauth/")+"/"+name, func(t *testing.T) {
				t.Parallel()
				proxy := testkit.Interpose(t)
				proxy.Handle(path, fault)
				stack := testkit.StartStack(t, testkit.AuthOptions{OnSandbox: proxy.SetTarget, Mutate: func(c *authserver.Config) {
					c.Upstream.TokenEndpoint = proxy.URL + "/api/oauth/token"
					c.Upstream.UserinfoEndpoint = proxy.URL + "/api/oauth/userinfo"
					c.Upstream.Timeout = time.Second
				}})
				c := stack.PublicClient(t)
				authz := c.AuthorizeURL(nil)
				back := testkit.SignIn(t, testkit.NewBrowser(t, c.RedirectURI), authz.URL)
				q := back.Query()
				if q.Get("error") != "temporarily_unavailable" || strings.Contains(q.Get("error_description"), "client id") ||
					q.Get("code") != "" || q.Get("state") != authz.State {
					t.Fatalf("callback = %v, want temporarily_unavailable", q)
				}
			})
		}
	}
}

// A key that cannot open the TaskManager tokens already stored stops the
// server at start, instead of failing every refresh later.
func TestStart_RefusesAnEncryptionKeyThatCannotOpenTheStore(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{})
	s.tokens(t) // a grant with a sealed TaskManager token
	if err := authserver.CheckEncryptionKey(context.Background(), s.stack.Store, s.stack.Config.EncryptionKey); err != nil {
		t.Fatalf("the right key: %v", err)
	}
	other := bytes.Repeat([]byte{7}, 32)
	err := authserver.CheckEncryptionKey(context.Background(), s.stack.Store, other)
	if err == nil || !strings.Contains(err.Error(), "cannot open the TaskManager tokens already stored") {
		t.Fatalf("another key: %v", err)
	}
}
