// The official TypeScript SDK's OAuth client against a tmcp MCP server:
// discovery, registration, PKCE and the browser step through its
// OAuthClientProvider, then a whoami call. Usage: node ts-client.mjs MCP_URL
// with TMCP_BROWSER naming a program that completes the sign-in for a URL.
import http from "node:http";
import { execFile } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const serverUrl = new URL(process.argv[2]);
let resolveCode;
const codeArrived = new Promise((resolve) => (resolveCode = resolve));
const callback = http.createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  res.end("done");
  if (url.pathname === "/callback") resolveCode(url.searchParams);
});
await new Promise((resolve) => callback.listen(0, "127.0.0.1", resolve));
const redirectUrl = `http://127.0.0.1:${callback.address().port}/callback`;

class Provider {
  get redirectUrl() { return redirectUrl; }
  get clientMetadata() {
    return {
      client_name: "TypeScript SDK interop client",
      redirect_uris: [redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.savedTokens; }
  saveTokens(tokens) { this.savedTokens = tokens; }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
  redirectToAuthorization(url) {
    this.authorizationUrl = url;
    execFile(process.env.TMCP_BROWSER, [url.toString()], { env: { ...process.env, TMCP_FAKEBROWSER: "1" } }, (err, stdout, stderr) => {
      if (err) console.error("browser failed:", err.message, stderr);
    });
  }
}

const provider = new Provider();
const clientInfo = { name: "ts-sdk-interop", version: "1.0.0" };
try {
  await new Client(clientInfo).connect(new StreamableHTTPClientTransport(serverUrl, { authProvider: provider }));
  throw new Error("connected without signing in: the server is not protected");
} catch (e) {
  if (!(e instanceof UnauthorizedError)) throw e;
}
const params = await codeArrived;
const auth = provider.authorizationUrl;
const transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider });
await transport.finishAuth(params.get("code"));
const client = new Client(clientInfo);
await client.connect(transport);
const result = await client.callTool({ name: "whoami", arguments: {} });
console.log(JSON.stringify({
  resource: auth.searchParams.get("resource"),
  codeChallengeMethod: auth.searchParams.get("code_challenge_method"),
  iss: params.get("iss"),
  scope: provider.savedTokens.scope,
  whoami: result.structuredContent ?? result.content,
}));
await client.close();
callback.close();
