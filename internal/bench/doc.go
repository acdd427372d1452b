// Package bench measures what tmcp costs, as ratios against baselines
// measured in the same run on the same machine (never as timed
// assertions), with the load generator in the test process: the gateway
// and the built-in tools against the same mcp-go server without auth
// (beside an httputil.ReverseProxy and a TCP forwarder), /introspect
// with a million live tokens, full-flow latency, 1,000 concurrent flows,
// idle memory and start time. The operator's view of throughput, every
// server its own process and wrk driving it, is internal/bench/process.
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/bench
package bench
