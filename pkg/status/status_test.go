package status_test

import (
	"net/http/httptest"
	"testing"

	"github.com/tmcp-dev/tmcp/pkg/status"
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
	} {
		r := httptest.NewRequest("GET", "/status", nil)
		r.RemoteAddr = tc.remote
		if tc.header != "" {
			r.Header.Set(tc.header, "203.0.113.7")
		}
		if got := status.Local(r); got != tc.local {
			t.Errorf("%s with %q: local = %v", tc.remote, tc.header, got)
		}
	}
}
