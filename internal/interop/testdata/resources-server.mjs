// A team's own MCP server written with the official TypeScript SDK,
// stateless over Streamable HTTP: its resources are looked up by their
// WHATWG URL spelling, as the SDK does. Every protected thing it runs is
// appended to the file named by its second argument.
import http from 'node:http';
import fs from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const [port, ranFile] = [Number(process.argv[2]), process.argv[3]];
const ran = (what) => fs.appendFileSync(ranFile, what + '\n');
const protectedURIs = ['file:///secret/x', 'file:///secret/a/b', 'http://127.0.0.1/secret', 'https://example.com/secret',
  'file:///C:/secret/x', 'file:///docs/my%20doc.md', 'file:///docs/r%C3%A9sum%C3%A9.md', 'http://[::1]/secret'];

function build() {
  const s = new McpServer({ name: 'resources', version: '1' }, { capabilities: { resources: { subscribe: true } } });
  for (const u of [...protectedURIs, 'file:///public/ok']) {
    s.registerResource(u, u, {}, async (uri) => {
      if (u !== 'file:///public/ok') ran('resources/read ' + uri.toString());
      return { contents: [{ uri: uri.toString(), text: 'content of ' + u }] };
    });
  }
  s.registerTool('admin/delete', {}, async () => { ran('tools/call admin/delete'); return { content: [{ type: 'text', text: 'deleted' }] }; });
  s.registerTool('safe', {}, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
  s.registerPrompt('secret-prompt', {}, async () => { ran('prompts/get'); return { messages: [{ role: 'user', content: { type: 'text', text: 'plan' } }] }; });
  return s;
}

http.createServer(async (req, res) => {
  const s = build();
  const t = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await s.connect(t);
  await t.handleRequest(req, res);
}).listen(port, '127.0.0.1');
