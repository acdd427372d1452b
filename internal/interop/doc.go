// Package interop holds tests that put tmcp in front of clients and test
// suites nobody on the tmcp team wrote: the official MCP conformance suite,
// the official TypeScript SDK's OAuth client and mcp-go's OAuth client. The
// npm packages come from .ci/interop (installed by .ci/run, pinned by its
// lockfile); without them the tests skip, except under CI.
package interop
