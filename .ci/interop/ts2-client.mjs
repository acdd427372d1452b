// The TypeScript SDK v2 client (@modelcontextprotocol/client) against a
// tmcp MCP endpoint, in a version negotiation mode: "auto" (probes
// server/discover, falls back to initialize) or "pin" (2026-07-28 only).
// It signs in through its OAuthClientProvider, lists tools, calls TOOL
// (read scope), then CALL_WRITE (needs write: a 403 and a step-up; the
// client signs in again for the challenged scope). Usage:
//   node ts2-client.mjs MCP_URL MODE TOOL WRITE_TOOL WRITE_ARGS_JSON
// with TMCP_BROWSER naming a program that completes the sign-in for a URL.
// Prints one JSON line.
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import { Provider, callbackServer } from "./signin.mjs";

const [serverArg, mode, tool, writeTool, writeArgs] = process.argv.slice(2);
const serverUrl = new URL(serverArg);
const versionNegotiation = mode === "pin" ? { mode: { pin: "2026-07-28" } } : { mode: "auto" };

const callback = await callbackServer();

// The v2 SDK also keeps what discovery found.
class DiscoveringProvider extends Provider {
  saveDiscoveryState(s) { this.discovery = s; }
  discoveryState() { return this.discovery; }
}

// Every request the client sends, as the server saw it named.
const sent = [];
const recordingFetch = async (url, init) => {
  const h = new Headers(init?.headers);
  if (init?.method === "POST" && String(url) === serverUrl.href) {
    let body = {};
    try { body = JSON.parse(init.body); } catch {}
    sent.push({ version: h.get("mcp-protocol-version"), method: body.method, session: h.get("mcp-session-id") });
  }
  return fetch(url, init);
};

const provider = new DiscoveringProvider("TypeScript SDK v2 interop client", callback.redirectUrl);
const clientInfo = { name: "ts-sdk-v2-interop", version: "2.4.0" };
const connect = async () => {
  const transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: recordingFetch });
  const client = new Client(clientInfo, { versionNegotiation });
  await client.connect(transport);
  return { client, transport };
};
let signIn;
try {
  await connect();
  throw new Error("connected without signing in: the server is not protected");
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
  signIn = await callback.arrived();
}
let transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: recordingFetch });
await transport.finishAuth(signIn);
let client = new Client(clientInfo, { versionNegotiation });
await client.connect(transport);
const version = client.getNegotiatedProtocolVersion();
const tools = (await client.listTools()).tools.map((t) => t.name).sort();
const called = await client.callTool({ name: tool, arguments: {} });

// Step-up: the write tool needs a scope the token lacks; the client is
// told so with a 403 and signs in again for it.
const write = { name: writeTool, arguments: JSON.parse(writeArgs || "{}") };
const readToken = provider.savedTokens.access_token;
provider.savedTokens = { ...provider.savedTokens, refresh_token: undefined };
callback.expectAnother();
let stepUp = "none";
try {
  await client.callTool(write);
  stepUp = "succeeded without a new sign-in";
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
  stepUp = provider.authorizationUrl.searchParams.get("scope");
  await transport.finishAuth(await callback.arrived());
}
const written = await client.callTool(write);
const modernRequests = sent.filter((s) => s.version === "2026-07-28").length;
console.log(JSON.stringify({
  version,
  era: client.getProtocolEra?.(),
  tools,
  called: called.content,
  calledError: called.isError ?? false,
  stepUp,
  written: written.content,
  writtenError: written.isError ?? false,
  tokensDiffer: readToken !== provider.savedTokens.access_token,
  initializeSent: sent.some((s) => s.method === "initialize"),
  sessionSent: sent.some((s) => s.session),
  modernRequests,
}));
await client.close();
callback.close();
