import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createServer as createHttpServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * Serves a freshly made MCP server over streamable HTTP (stateless: one server per request) on
 * `host:port`. Resolves with the listening HTTP server.
 * @public
 */
export async function serveHttp(
  makeServer: () => McpServer,
  options: { port: number; host?: string; path?: string },
): Promise<Server> {
  const mcpPath = options.path ?? '/mcp';
  const http = createHttpServer(async (req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== mcpPath) {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'POST') {
      // stateless: no server-initiated streams and no sessions to delete
      res
        .writeHead(405, { allow: 'POST', 'content-type': 'application/json' })
        .end(
          JSON.stringify({
            jsonrpc: '2.0',
            error: { code: -32000, message: 'Method not allowed' },
            id: null,
          }),
        );
      return;
    }
    const server = makeServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => {
      transport.close().catch(() => {});
      server.close().catch(() => {});
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res);
    } catch (e) {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            jsonrpc: '2.0',
            error: { code: -32603, message: String(e) },
            id: null,
          }),
        );
      }
    }
  });
  await new Promise<void>(resolve =>
    http.listen(options.port, options.host ?? '127.0.0.1', resolve),
  );
  return http;
}

/**
 * The entry point of a server's bin: stdio by default, `--http <port>` (and `--host`) for
 * streamable HTTP. Logs go to stderr; stdout belongs to the protocol.
 * @public
 */
export async function runServerMain(
  name: string,
  makeServer: () => McpServer,
  argv: string[] = process.argv.slice(2),
) {
  const portAt = argv.indexOf('--http');
  if (portAt >= 0) {
    const port = Number(argv[portAt + 1] ?? '0');
    const hostAt = argv.indexOf('--host');
    const host = hostAt >= 0 ? argv[hostAt + 1] : '127.0.0.1';
    const http = await serveHttp(makeServer, { port, host });
    const address = http.address() as AddressInfo;
    process.stderr.write(
      `${name}: MCP over streamable HTTP on http://${host}:${address.port}/mcp\n`,
    );
    return;
  }
  await makeServer().connect(new StdioServerTransport());
  process.stderr.write(`${name}: MCP over stdio\n`);
}
