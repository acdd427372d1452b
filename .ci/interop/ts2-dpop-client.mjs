// The TypeScript SDK v2 client (@modelcontextprotocol/client) against a
// tmcp MCP server, with DPoP (RFC 9449) when TMCP_DPOP=1: the SDK's own
// OAuthClientProvider with dpop(), its transport signing a proof into
// every request, a tool call, a refresh. Then, with the SDK's own token
// and key session, the requests an attacker who copied the token would
// send: as a bearer token, with another key's proof, a proof replayed
// byte for byte, proofs for the wrong htu, htm or ath, and a stale one;
// each with its HTTP status, beside a fresh good proof's.
// Usage: node ts2-dpop-client.mjs MCP_URL, with TMCP_BROWSER naming a
// program that completes the sign-in for a URL, TMCP_TOOL the tool to
// call (default whoami) and TMCP_TOOL_ARGS its arguments as JSON.
import { Client, StreamableHTTPClientTransport, UnauthorizedError, DpopSession, auth } from "@modelcontextprotocol/client";
import { Provider, callbackServer } from "./signin.mjs";

const serverUrl = new URL(process.argv[2]);
const useDpop = process.env.TMCP_DPOP === "1";
const tool = { name: process.env.TMCP_TOOL || "whoami", arguments: JSON.parse(process.env.TMCP_TOOL_ARGS || "{}") };

const callback = await callbackServer();

class DpopProvider extends Provider {
  dpopSession = useDpop ? DpopSession.create() : undefined;
}
if (useDpop) DpopProvider.prototype.dpop = function () { return this.dpopSession; };

// The transport's fetch, below the SDK's DPoP signing: it sees each
// request exactly as sent, proof and all.
let lastSigned;
const recordingFetch = async (input, init) => {
  const headers = new Headers(init?.headers);
  if (headers.has("dpop") && init?.method === "POST") lastSigned = { url: input.toString(), headers, body: init.body };
  return fetch(input, init);
};

const provider = new DpopProvider("TypeScript SDK v2 DPoP interop client", callback.redirectUrl);
const clientInfo = { name: "ts2-dpop-interop", version: "1.0.0" };
const transportFor = () => new StreamableHTTPClientTransport(serverUrl, { authProvider: provider, fetch: recordingFetch });
try {
  await new Client(clientInfo).connect(transportFor());
  throw new Error("connected without signing in: the server is not protected");
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
}
let transport = transportFor();
await transport.finishAuth(await callback.arrived());
const client = new Client(clientInfo);
await client.connect(transport);
const tools = (await client.listTools()).tools.map((t) => t.name).sort();
const called = await client.callTool(tool);
const tokenType = provider.savedTokens.token_type;
const firstToken = provider.savedTokens.access_token;

// Refresh: the SDK's auth() refreshes, with a proof when it uses DPoP.
const refreshed = await auth(provider, { serverUrl });
const afterRefresh = await client.callTool(tool);
const token = provider.savedTokens.access_token;

// What a thief holding the token (and perhaps a proof it saw) can do.
const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo } });
const post = async (authorization, proof, url = serverUrl) => {
  const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream", Authorization: authorization };
  if (proof) headers.DPoP = proof;
  const res = await fetch(url, { method: "POST", headers, body: initialize });
  await res.text();
  return res.status;
};
const attacks = {};
if (useDpop) {
  const s = await provider.dpopSession;
  const proof = (req) => s.buildProof({ htm: "POST", htu: serverUrl, accessToken: token, ...req });
  const realNow = Date.now;
  Date.now = () => realNow() - 10 * 60 * 1000;
  const stale = await proof({});
  Date.now = realNow;
  const replay = lastSigned;
  const replayed = await fetch(replay.url, { method: "POST", headers: replay.headers, body: replay.body });
  await replayed.text();
  attacks.replayed = replayed.status;
  attacks.asBearer = await post(`Bearer ${token}`);
  attacks.otherKey = await post(`DPoP ${token}`, await (await DpopSession.create()).buildProof({ htm: "POST", htu: serverUrl, accessToken: token }));
  attacks.noProof = await post(`DPoP ${token}`);
  attacks.wrongHtu = await post(`DPoP ${token}`, await proof({ htu: new URL("/elsewhere", serverUrl) }));
  attacks.wrongHtm = await post(`DPoP ${token}`, await proof({ htm: "GET" }));
  attacks.wrongAth = await post(`DPoP ${token}`, await proof({ accessToken: firstToken }));
  attacks.staleIat = stale ? await post(`DPoP ${token}`, stale) : 0;
  attacks.goodProof = await post(`DPoP ${token}`, await proof({}));
  attacks.thumbprint = s.thumbprint;
} else {
  attacks.goodBearer = await post(`Bearer ${token}`);
}

console.log(JSON.stringify({
  tokenType,
  tools,
  called: !called.isError,
  refreshed,
  refreshedToken: token !== firstToken,
  refreshedType: provider.savedTokens.token_type,
  afterRefresh: !afterRefresh.isError,
  attacks,
}));
await client.close();
callback.close();
