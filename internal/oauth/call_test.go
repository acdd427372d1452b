package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// refused is a caller's verdict type, as upstream.Error or the resource
// server's oauthRefusal are.
type refused struct{ code string }

func (r *refused) Error() string { return "refused: " + r.code }

var errFault = errors.New("cannot ask now")

// Only an answer refusing the request itself is a verdict: a server that
// fails (5xx, server_error, temporarily_unavailable), answers without an
// OAuth error, answers something other than JSON, or cannot be reached
// decides nothing, and the caller's fault says so.
func TestClassify_FaultIsNoVerdict(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	cases := []struct {
		name        string
		status      int
		ctype, body string
		verdict     string // the refusal's code; "" for none
		fault       bool
		unreachable bool
	}{
		{name: "OK", status: 200, ctype: "application/json", body: `{"a":1}`},
		{name: "InvalidGrant", status: 400, ctype: "application/json", body: `{"error":"invalid_grant"}`, verdict: "invalid_grant"},
		{name: "InvalidClient", status: 401, ctype: "application/json", body: `{"error":"invalid_client"}`, verdict: "invalid_client"},
		{name: "ServerErrorBelow500", status: 400, ctype: "application/json", body: `{"error":"server_error"}`, fault: true},
		{name: "TemporarilyUnavailable", status: 400, ctype: "application/json", body: `{"error":"temporarily_unavailable"}`, fault: true},
		{name: "Status503WithACode", status: 503, ctype: "application/json", body: `{"error":"invalid_request"}`, fault: true},
		{name: "Status500Empty", status: 500, fault: true},
		{name: "ProxyPageWithoutACode", status: 404, ctype: "text/html", body: `<h1>Not Found</h1>`, fault: true},
		{name: "OKButNotJSON", status: 200, ctype: "text/html", body: `<html>`, fault: true, unreachable: true},
		{name: "Unreachable", fault: true, unreachable: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := goneURL
			if tc.status != 0 {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if tc.ctype != "" {
						w.Header().Set("Content-Type", tc.ctype)
					}
					w.WriteHeader(tc.status)
					_, _ = w.Write([]byte(tc.body))
				}))
				defer srv.Close()
				u = srv.URL
			}
			var out map[string]any
			err := Classify(Fetch(context.Background(), NewHTTPClient(5*time.Second), Call{URL: u}, &out), errFault, func(ae *AnswerError) error {
				if ae.Refusal() {
					return &refused{code: ae.Code}
				}
				return nil
			})
			var r *refused
			switch {
			case tc.verdict != "":
				if !errors.As(err, &r) || r.code != tc.verdict || errors.Is(err, errFault) {
					t.Fatalf("err = %v, want the refusal %s and no fault", err, tc.verdict)
				}
			case tc.fault:
				if !errors.Is(err, errFault) || errors.As(err, &r) {
					t.Fatalf("err = %v, want a fault and no refusal", err)
				}
				if errors.Is(err, ErrUnreachable) != tc.unreachable {
					t.Fatalf("err = %v: wraps ErrUnreachable %v, want %v", err, !tc.unreachable, tc.unreachable)
				}
			case err != nil || out["a"] != 1.0:
				t.Fatalf("err = %v, out = %v", err, out)
			}
		})
	}
}
