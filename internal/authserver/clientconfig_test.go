package authserver_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// RFC 7592: a dynamically registered client reads, updates and deletes
// its registration with the registration access token it got; anyone
// else, and a deleted client, get 401 invalid_token.
func TestClientConfiguration_ReadUpdateDelete(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := testkit.Discover(t, stack.Auth.URL())
	reg := c.Register(map[string]any{"redirect_uris": []string{"http://localhost:3030/callback"}, "client_name": "before",
		"token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"}})
	token, _ := reg["registration_access_token"].(string)
	uri, _ := reg["registration_client_uri"].(string)
	if !strings.HasPrefix(token, "tmcp_rat_") || uri != stack.Auth.URL()+"/register/"+c.ClientID {
		t.Fatalf("registration response: token %q uri %q", token, uri)
	}
	call := func(method, bearer string, body any) (int, map[string]any, http.Header) {
		var rd io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			rd = bytes.NewReader(raw)
		}
		resp := testkit.Send(t, testkit.BearerRequest(t, method, uri, bearer, rd))
		out := map[string]any{}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out, resp.Header
	}
	if status, got, _ := call(http.MethodGet, token, nil); status != http.StatusOK || got["client_name"] != "before" || got["client_id"] != c.ClientID ||
		got["registration_access_token"] != token {
		t.Fatalf("read: %d %v", status, got)
	}
	for _, bearer := range []string{"", "tmcp_rat_not-this-one"} {
		status, got, h := call(http.MethodGet, bearer, nil)
		if status != http.StatusUnauthorized || got["error"] != "invalid_token" || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("read with %q: %d %v", bearer, status, got)
		}
	}
	update := map[string]any{"client_id": c.ClientID, "client_name": "after", "token_endpoint_auth_method": "none",
		"redirect_uris": []string{"http://localhost:3031/callback"}, "grant_types": []string{"authorization_code"}}
	if status, got, _ := call(http.MethodPut, token, update); status != http.StatusOK || got["client_name"] != "after" {
		t.Fatalf("update: %d %v", status, got)
	}
	if cl, err := stack.Store.GetClient(t.Context(), c.ClientID); err != nil || cl.Name != "after" || cl.RedirectURIs[0] != "http://localhost:3031/callback" {
		t.Fatalf("stored after update: %+v %v", cl, err)
	}
	update["client_id"] = "tmcp_ci_someone-else"
	if status, got, _ := call(http.MethodPut, token, update); status != http.StatusBadRequest || got["error"] != "invalid_request" {
		t.Fatalf("update naming another client: %d %v", status, got)
	}
	update["client_id"], update["token_endpoint_auth_method"] = c.ClientID, "client_secret_basic"
	if status, got, _ := call(http.MethodPut, token, update); status != http.StatusBadRequest || got["error"] != "invalid_client_metadata" {
		t.Fatalf("update changing the auth method: %d %v", status, got)
	}
	if status, _, _ := call(http.MethodDelete, token, nil); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	if status, got, _ := call(http.MethodGet, token, nil); status != http.StatusUnauthorized || got["error"] != "invalid_token" {
		t.Fatalf("read after delete: %d %v", status, got)
	}
	if _, err := stack.Store.GetClient(t.Context(), c.ClientID); err == nil {
		t.Fatal("the client is still stored")
	}
}

// RFC 7235 §2.1: the auth-scheme is case-insensitive. The registration
// access token (RFC 7592) and the initial access token (RFC 7591 §3) are
// accepted after "bearer", "BEARER" or "Bearer" and one or more spaces.
func TestClientConfiguration_BearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.Registration.InitialAccessToken = "iat-secret"
	}})
	c := testkit.Discover(t, stack.Auth.URL())
	send := func(method, u, authorization, body string) (int, map[string]any) {
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", authorization)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return testkit.Do(t, req)
	}
	var reg map[string]any
	for _, scheme := range []string{"bearer ", "BEARER ", "Bearer   "} {
		status, body := send(http.MethodPost, c.Meta.RegistrationEndpoint, scheme+"iat-secret",
			`{"redirect_uris":["http://localhost:3030/callback"],"token_endpoint_auth_method":"none"}`)
		if status != http.StatusCreated {
			t.Fatalf("registration with %q: %d %v", scheme, status, body)
		}
		reg = body
	}
	token, _ := reg["registration_access_token"].(string)
	uri, _ := reg["registration_client_uri"].(string)
	for _, scheme := range []string{"bearer ", "BEARER ", "BeArEr ", "Bearer  "} {
		if status, body := send(http.MethodGet, uri, scheme+token, ""); status != http.StatusOK || body["client_id"] != reg["client_id"] {
			t.Fatalf("read with %q: %d %v", scheme, status, body)
		}
	}
	for _, authz := range []string{"Bearer", "Bearer ", "Basic " + token, "Bearer" + token, "Bearertmcp " + token} {
		if status, body := send(http.MethodGet, uri, authz, ""); status != http.StatusUnauthorized || body["error"] != "invalid_token" {
			t.Fatalf("read with %q: %d %v", authz, status, body)
		}
	}
}
