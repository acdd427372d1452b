// Package process measures tmcp the way an operator would: every server
// runs as its own process and wrk (Debian's, one thread, 32 connections)
// drives it over loopback, in alternating rounds against baselines and
// reference servers started in the same run — bare mcp-go, nginx,
// haproxy and a bare Go proxy as reverse proxies, a bare net/http form
// handler and the
// example OpenID provider of zitadel/oidc built from the module proxy.
// It prints ratios (medians of the rounds' ratios) and fails only when a
// request does: never on an absolute figure.
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 10m ./internal/bench/process
//
// TMCP_BENCH_ROUNDS and TMCP_BENCH_ROUND change the rounds (3 of 5 s);
// -short leaves out the cost-growth part (a million rows to write).
package process
