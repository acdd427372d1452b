package telemetry

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// With no exporter no span is started, yet the caller's traceparent (or
// the sign-in cookie's) still goes on to TaskManager and the MCP
// servers behind the gateway, unchanged, as a no-op span passed it.
func TestTracingOff_IncomingTraceparentPassesOn(t *testing.T) {
	was := exporting.Load()
	exporting.Store(false)
	t.Cleanup(func() { exporting.Store(was) })
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	got := make(chan string, 1)
	next := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("traceparent") }))
	defer next.Close()
	client := &http.Client{Transport: Transport(nil)}
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
		want string
	}{
		{"traceparent header", func(r *http.Request) { r.Header.Set("traceparent", tp) }, tp},
		{"sign-in cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SignInCookie, Value: tp}) }, tp},
		{"none", func(*http.Request) {}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := httptest.NewRequest(http.MethodPost, "/mcp", nil)
			tc.set(in)
			ctx, span := StartServer(in)
			if span.IsRecording() {
				t.Error("a span records with no exporter")
			}
			if p := Traceparent(ctx); p != tc.want {
				t.Errorf("Traceparent = %q, want %q", p, tc.want)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, next.URL, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if sent := <-got; sent != tc.want {
				t.Errorf("sent traceparent %q, want %q", sent, tc.want)
			}
			EndServer(span, in, http.StatusOK)
		})
	}
}
