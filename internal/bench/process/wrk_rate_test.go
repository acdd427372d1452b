package process

import "testing"

// Only successful answers are throughput: wrk's report of a run with any
// other answer, a socket error or a broken script fails the run.
func TestWrkRate_OnlySuccessfulRunsCount(t *testing.T) {
	const head = "Running 5s test @ http://127.0.0.1:1/mcp\n  1 threads and 32 connections\n"
	for _, tc := range []struct {
		name, report string
		rate         float64
	}{
		{"clean", head + "  68012 requests in 5.00s, 30.12MB read\nRequests/sec:  13602.40\nTransfer/sec:      6.02MB\n", 13602.40},
		{"non-2xx", head + "  68012 requests in 5.00s, 30.12MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:  13602.40\n", 0},
		{"socket errors", head + "  Socket errors: connect 0, read 2, write 0, timeout 0\nRequests/sec:  13602.40\n", 0},
		{"script error", "/tmp/x.lua: /tmp/x.lua:3: unexpected symbol near ']'\n" + head + "  0 requests in 1.01s, 5.19KB read\nRequests/sec:      0.00\n", 0},
		{"no report", "unable to connect to 127.0.0.1:1 Connection refused\n", 0},
	} {
		rate, err := wrkRate([]byte(tc.report))
		if tc.rate == 0 && err == nil {
			t.Errorf("%s: counted %.0f/s, want the run to fail", tc.name, rate)
		}
		if tc.rate != 0 && (err != nil || rate != tc.rate) {
			t.Errorf("%s: %.2f/s, %v; want %.2f/s", tc.name, rate, err, tc.rate)
		}
	}
}
