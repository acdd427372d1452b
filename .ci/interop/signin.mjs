// What the interop clients share: a loopback redirect endpoint that
// hands over each authorization response, and an OAuthClientProvider
// that keeps what the SDK gives it and has TMCP_BROWSER complete the
// sign-in. The SDKs (v1 and v2) take it as their authProvider.
import http from "node:http";
import { execFile } from "node:child_process";

// callbackServer listens on a free loopback port. arrived() is the
// current authorization response's query parameters (a promise);
// expectAnother() starts waiting for the next one.
export async function callbackServer() {
  let resolveCode, arrived;
  const expectAnother = () => { arrived = new Promise((resolve) => (resolveCode = resolve)); };
  expectAnother();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    res.end("done");
    if (url.pathname === "/callback") resolveCode(url.searchParams);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    redirectUrl: `http://127.0.0.1:${server.address().port}/callback`,
    arrived: () => arrived,
    expectAnother,
    close: () => server.close(),
  };
}

// Provider registers as a public client named clientName and remembers
// the last authorization URL it was sent to.
export class Provider {
  constructor(clientName, redirectUrl) {
    this.clientName = clientName;
    this.redirect = redirectUrl;
  }
  get redirectUrl() { return this.redirect; }
  get clientMetadata() {
    return {
      client_name: this.clientName,
      redirect_uris: [this.redirect],
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
