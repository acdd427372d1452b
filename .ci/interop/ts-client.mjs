// The official TypeScript SDK's OAuth client against a tmcp MCP server:
// discovery, registration, PKCE and the browser step through its
// OAuthClientProvider; then tools/list, whoami, list_tasks (the SDK checks
// structured results against each tool's outputSchema), create_task after
// a step-up to write, and a refresh. Usage: node ts-client.mjs MCP_URL with
// TMCP_BROWSER naming a program that completes the sign-in for a URL.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError, auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { Provider, callbackServer } from "./signin.mjs";

const serverUrl = new URL(process.argv[2]);
const callback = await callbackServer();

const provider = new Provider("TypeScript SDK interop client", callback.redirectUrl);
const clientInfo = { name: "ts-sdk-interop", version: "1.0.0" };
try {
  await new Client(clientInfo).connect(new StreamableHTTPClientTransport(serverUrl, { authProvider: provider }));
  throw new Error("connected without signing in: the server is not protected");
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
}
const params = await callback.arrived();
const auth1 = provider.authorizationUrl;
let transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider });
await transport.finishAuth(params.get("code"));
let client = new Client(clientInfo);
await client.connect(transport);
const registeredScope = provider.info?.scope;
const tools = (await client.listTools()).tools.map((t) => t.name).sort();
const whoami = await client.callTool({ name: "whoami", arguments: {} });
const listed = await client.callTool({ name: "list_tasks", arguments: {} });

// Step-up. On a 403 the SDK refreshes without the challenged scope, gets
// the same scope back and gives up (typescript-sdk #2255); without a
// refresh token it signs in again for the challenged scope, which is what
// an application does after that error.
const task = { name: "create_task", arguments: { title: "from the TypeScript SDK" } };
let firstTry;
try {
  await client.callTool(task);
  firstTry = "ok";
} catch (e) {
  firstTry = e.message;
}
const readToken = provider.savedTokens.access_token;
provider.savedTokens = { ...provider.savedTokens, refresh_token: undefined };
callback.expectAnother();
await client.close();
transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider });
client = new Client(clientInfo);
await client.connect(transport);
await client.listTools();
try {
  await client.callTool(task);
  throw new Error("create_task succeeded without write");
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
}
const auth2 = provider.authorizationUrl;
await transport.finishAuth((await callback.arrived()).get("code"));
const created = await client.callTool(task);
const writeToken = provider.savedTokens.access_token;

// Refresh: with a refresh token, the SDK's auth() refreshes.
const refreshed = await auth(provider, { serverUrl });
const afterRefresh = await client.callTool({ name: "whoami", arguments: {} });

console.log(JSON.stringify({
  resource: auth1.searchParams.get("resource"),
  codeChallengeMethod: auth1.searchParams.get("code_challenge_method"),
  iss: params.get("iss"),
  registeredScope,
  scope: auth1.searchParams.get("scope"),
  tools,
  whoami: whoami.structuredContent,
  tasks: listed.structuredContent,
  firstTry,
  stepUpScope: auth2.searchParams.get("scope"),
  created: created.structuredContent,
  tokensDiffer: readToken !== writeToken,
  refreshed,
  refreshedToken: provider.savedTokens.access_token !== writeToken,
  afterRefresh: afterRefresh.structuredContent,
}));
await client.close();
callback.close();
