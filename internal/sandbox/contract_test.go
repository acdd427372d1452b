package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/sandbox"
	"github.com/tmcp-dev/tmcp/internal/testkit"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// exchange is one request through the clients API and its answer.
type exchange struct {
	method, path string
	status       int
	sent, answer []byte
}

// recorder stands between tmcp's TaskManager client and the sandbox and
// keeps each request and answer body on the paths it records as they
// crossed the wire.
type recorder struct {
	*testkit.Interposer
	mu   sync.Mutex
	seen []exchange
}

func newRecorder(t *testing.T, sandboxURL string) *recorder {
	rec := &recorder{Interposer: testkit.Interpose(t)}
	rec.SetTarget(sandboxURL)
	return rec
}

// record keeps the exchanges on path from now on.
func (rec *recorder) record(t *testing.T, path string) {
	rec.Handle(path, func(w http.ResponseWriter, r *http.Request) {
		sent, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(sent))
		answer := httptest.NewRecorder()
		rec.Pass(answer, r)
		for k, v := range answer.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(answer.Code)
		_, _ = w.Write(answer.Body.Bytes())
		rec.mu.Lock()
		rec.seen = append(rec.seen, exchange{r.Method, r.URL.Path, answer.Code, sent, answer.Body.Bytes()})
		rec.mu.Unlock()
	})
}

func (rec *recorder) exchanges() []exchange {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.seen)
}

// readStrictly decodes raw into out refusing fields out does not have,
// and fails for any value of raw that out does not give back: nothing
// sent is dropped or changed on the way in.
func readStrictly(t *testing.T, what string, raw []byte, out any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("%s: %v in %s", what, err, withoutSecret(raw))
	}
	again, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var was, is any
	if json.Unmarshal(raw, &was) != nil || json.Unmarshal(again, &is) != nil {
		t.Fatalf("%s: not JSON: %s", what, raw)
	}
	if path := lost(was, is, what); path != "" {
		t.Errorf("%s: %s was lost on the way in: sent %s, read back %s", what, path, withoutSecret(raw), withoutSecret(again))
	}
}

// withoutSecret is raw for a failure message, any client_secret in it
// replaced.
func withoutSecret(raw []byte) []byte {
	return regexp.MustCompile(`"client_secret":"[^"]*"`).ReplaceAll(raw, []byte(`"client_secret":"…"`))
}

// lost names the first value of was that is not in is ("" when none is);
// is may hold more (fields the reader has and was did not send).
func lost(was, is any, at string) string {
	switch w := was.(type) {
	case map[string]any:
		i, ok := is.(map[string]any)
		if !ok {
			return at
		}
		for k, v := range w {
			if p := lost(v, i[k], at+"."+k); p != "" {
				return p
			}
		}
		return ""
	case []any:
		i, ok := is.([]any)
		if !ok || len(i) != len(w) {
			return at
		}
		for n := range w {
			if p := lost(w[n], i[n], at+"[]"); p != "" {
				return p
			}
		}
		return ""
	}
	if !reflect.DeepEqual(was, is) {
		return at
	}
	return ""
}

// populated fails for every field of the struct v holds at its zero value,
// but those named in except: a field the contract never fills is a field
// one side added alone.
func populated(t *testing.T, what string, v any, except ...string) {
	t.Helper()
	rv := reflect.Indirect(reflect.ValueOf(v))
	for i := range rv.NumField() {
		name := rv.Type().Field(i).Name
		if rv.Field(i).IsZero() && !slices.Contains(except, name) {
			t.Errorf("%s: %s is empty: one side has a field the other never fills", what, name)
		}
	}
}

// The sandbox stands in for TaskManager, so the clients API is written on
// both sides on purpose: the sandbox's ClientInfo and RegisterRequest,
// and tmcp's TaskManager client's RegisteredClient and NewClient. What the
// client sends and what the sandbox answers decode strictly into the
// other side's types with every field filled and nothing lost. (The
// sandbox also reads token_endpoint_auth_method, which tmcp's client never
// sends: it registers confidential clients only.)
func TestClientsAPI_SandboxAndUpstreamClientAgree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testkit.StartSandbox(t, redirect)
	proxy := newRecorder(t, s.URL())
	proxy.record(t, "/api/oauth/clients")
	base, _ := url.Parse(s.URL())
	var session upstream.Session
	for _, c := range login(t, s.URL()).Client.Jar.Cookies(base) {
		if c.Name == "session" {
			session = upstream.Session{CookieName: c.Name, Value: c.Value}
		}
	}
	tm, err := upstream.New(upstream.Config{BaseURL: proxy.URL, ClientsEndpoint: "/api/oauth/clients",
		ClientID: testkit.UpstreamClientID, ClientSecret: testkit.UpstreamSecret})
	if err != nil {
		t.Fatal(err)
	}

	in := upstream.NewClient{Name: "Contract", RedirectURIs: []string{"http://127.0.0.1:4000/callback", "https://app.example/cb"}, Scopes: []string{"read", "admin"}}
	populated(t, "upstream.NewClient as sent", in)
	reg, err := tm.RegisterClient(ctx, session, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.ListClients(ctx, session); err != nil {
		t.Fatal(err)
	}
	proxy.record(t, "/api/oauth/clients/"+reg.ClientID)
	if _, err := tm.LookupClient(ctx, reg.ClientID); err != nil {
		t.Fatal(err)
	}

	kinds := map[string]bool{}
	for _, x := range proxy.exchanges() {
		what := x.method + " " + x.path
		switch {
		case x.method == http.MethodPost:
			kinds["register"] = true
			var req sandbox.RegisterRequest
			readStrictly(t, what+" request into sandbox.RegisterRequest", x.sent, &req)
			var got upstream.RegisteredClient
			readStrictly(t, what+" answer into upstream.RegisteredClient", x.answer, &got)
			populated(t, what+" answer", got)
		case x.path == "/api/oauth/clients":
			kinds["list"] = true
			var got []upstream.RegisteredClient
			readStrictly(t, what+" answer into []upstream.RegisteredClient", x.answer, &got)
			if len(got) == 0 {
				t.Fatalf("%s: no clients listed", what)
			}
			for _, c := range got {
				populated(t, what+" answer", c, "ClientSecret") // shown only at registration
			}
		default:
			kinds["lookup"] = true
			var got upstream.RegisteredClient
			readStrictly(t, what+" answer into upstream.RegisteredClient", x.answer, &got)
			populated(t, what+" answer", got, "ClientSecret")
		}
		if x.status/100 != 2 {
			t.Errorf("%s answered %d: %s", what, x.status, withoutSecret(x.answer))
		}
	}
	if len(kinds) != 3 {
		t.Fatalf("saw %v of register, list and lookup", kinds)
	}

	// The answer types are one document written twice: each, filled,
	// reads strictly into the other.
	tmcpSide := upstream.RegisteredClient{ClientID: "id", ClientSecret: "secret", Name: "n", RedirectURIs: []string{"https://a.example/cb"},
		Scopes: []string{"read"}, AuthMethod: "client_secret_basic", CreatedAt: reg.CreatedAt}
	sandboxSide := sandbox.ClientInfo{ClientID: "id", ClientSecret: "secret", Name: "n", RedirectURIs: []string{"https://a.example/cb"},
		Scopes: []string{"read"}, AuthMethod: "none", CreatedAt: reg.CreatedAt}
	populated(t, "upstream.RegisteredClient", tmcpSide)
	populated(t, "sandbox.ClientInfo", sandboxSide)
	for _, tc := range []struct {
		what     string
		from, to any
	}{
		{"upstream.RegisteredClient into sandbox.ClientInfo", tmcpSide, &sandbox.ClientInfo{}},
		{"sandbox.ClientInfo into upstream.RegisteredClient", sandboxSide, &upstream.RegisteredClient{}},
	} {
		raw, _ := json.Marshal(tc.from)
		readStrictly(t, tc.what, raw, tc.to)
	}
}
