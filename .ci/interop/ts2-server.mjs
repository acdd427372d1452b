// A strict MCP 2026-07-28 server made with the TypeScript SDK v2
// (@modelcontextprotocol/server, createMcpHandler with legacy: "reject"):
// a team's modern server behind tmcp's HTTP gateway. Tools: get-env
// (who the gateway says the caller is) and echo. Listens on PORT at /mcp.
import http from "node:http";
import { McpServer, createMcpHandler } from "@modelcontextprotocol/server";
import { z } from "zod";

const handler = createMcpHandler(({ requestInfo }) => {
  const server = new McpServer({ name: "ts2-modern", version: "2.4.0" });
  server.registerTool("get-env", { description: "who the gateway says the caller is", inputSchema: z.object({}) }, async () => ({
    content: [{ type: "text", text: JSON.stringify({ user: requestInfo?.headers.get("x-forwarded-user") }) }],
  }));
  server.registerTool("echo", { description: "echoes a message", inputSchema: z.object({ message: z.string() }) }, async ({ message }) => ({
    content: [{ type: "text", text: `Echo: ${message}` }],
  }));
  return server;
}, { legacy: "reject", responseMode: "json" });

http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = chunks.length ? Buffer.concat(chunks) : undefined;
  const request = new Request(`http://${req.headers.host}${req.url}`, {
    method: req.method,
    headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
    body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
  });
  const response = await handler.fetch(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) for await (const c of response.body) res.write(c);
  res.end();
}).listen(Number(process.env.PORT), "127.0.0.1");
