package status_test

import (
	"net/http/httptest"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/status"
)

func TestLocal_LoopbackNotForwarded(t *testing.T) {
	for _, tc := range []struct {
		remote, header string
		local          bool
	}{
		{"127.0.0.1:5000", "", true},
		{"[::1]:5000", "", true},
		{"127.0.0.1:5000", "X-Forwarded-For", false}, // a proxy on this machine passing on someone else's request
		{"127.0.0.1:5000", "Forwarded", false},
		{"10.1.2.3:5000", "", false},
		{"[::ffff:127.0.0.1]:5000", "", true},
		{"127.0.0.1:5000", "X-Real-IP", false},
		{"127.0.0.1:5000", "X-Forwarded-Host", false}, // a proxy that sets only the host or scheme
		{"127.0.0.1:5000", "X-Forwarded-Proto", false},
		{"127.0.0.1:5000", "x-forwarded-port", false},
		{"127.0.0.1:5000", "X-Forwarded-Client-Cert", false},
		{"127.0.0.1:5000", "X-Request-Id", true},
	} {
		r := httptest.NewRequest("GET", "/status", nil)
		r.RemoteAddr = tc.remote
		if tc.header != "" {
			r.Header[tc.header] = []string{"203.0.113.7"} // as sent, even in lower case

		}
		if got := status.Local(r); got != tc.local {
			t.Errorf("%s with %q: local = %v", tc.remote, tc.header, got)
		}
	}
}
