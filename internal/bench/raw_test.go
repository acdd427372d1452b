package bench

import (
	"net/http"
	"testing"
)

// rawWorkers is how many connections the raw load generator keeps busy:
// enough that the server, not the client, is what runs out.
const rawWorkers = 32

// rawCaller is a load generator that outruns the servers it measures: one
// initialized MCP session and one keep-alive connection a worker, a
// request body built once, and no JSON decoding of the answers, only a
// check that each is a 200 carrying a result (a 401 or 429 is not
// throughput).
func rawCaller(tb testing.TB, mcpURL, token, tool string) func(int) error {
	tb.Helper()
	return authCaller(tb, mcpURL, tool, func(h http.Header) { h.Set("Authorization", "Bearer "+token) })
}
