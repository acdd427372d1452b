// Package bench measures what tmcp costs, as ratios against baselines
// measured in the same run on the same machine (never as timed
// assertions): authenticated tools/call against the same mcp-go server
// without auth, /introspect against a bare handler, full-flow latency,
// 1,000 concurrent flows, idle memory and start time.
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/bench
package bench
