import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { stopRunningCommands } from '../exec';

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Serves a freshly made MCP server over streamable HTTP (stateless: one server per request) on
 * `host:port`. With a `token`, every request needs `Authorization: Bearer <token>`. Requests from
 * browsers (an `Origin` header) are refused, and on a loopback address so are requests for another
 * host name (DNS rebinding). Resolves with the listening HTTP server.
 * @public
 */
export async function serveHttp(
  makeServer: () => McpServer,
  options: { port: number; host?: string; path?: string; token?: string },
): Promise<Server> {
  const mcpPath = options.path ?? '/mcp';
  const host = options.host ?? '127.0.0.1';
  const deny = (
    res: import('node:http').ServerResponse,
    status: number,
    message: string,
  ) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        jsonrpc: '2.0',
        error: { code: -32000, message },
        id: null,
      }),
    );
  const http = createHttpServer(async (req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== mcpPath) {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.origin) {
      deny(res, 403, 'requests from browsers are not accepted');
      return;
    }
    if (LOOPBACK.includes(host)) {
      const hostName = (req.headers.host ?? '')
        .replace(/:\d+$/, '')
        .replace(/^\[|\]$/g, '');
      if (!LOOPBACK.includes(hostName)) {
        deny(res, 403, `host ${req.headers.host} is not served here`);
        return;
      }
    }
    if (options.token !== undefined) {
      const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!given || !sameSecret(given, options.token)) {
        deny(res, 401, 'missing or wrong bearer token');
        return;
      }
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
  await new Promise<void>(resolve => http.listen(options.port, host, resolve));
  return http;
}

/**
 * The entry point of a server's bin: stdio by default, `--http <port>` (and `--host`) for
 * streamable HTTP, which requires the bearer token in `RUNBOOKS_MCP_TOKEN` unless it listens on a
 * loopback address. Logs go to stderr; stdout belongs to the protocol. The server exits on SIGINT,
 * SIGTERM and (stdio) when its client closes stdin, stopping the commands it is running.
 * @public
 */
export async function runServerMain(
  name: string,
  makeServer: () => McpServer,
  argv: string[] = process.argv.slice(2),
) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopRunningCommands();
      process.exit(0);
    });
  }
  const portAt = argv.indexOf('--http');
  if (portAt >= 0) {
    const port = Number(argv[portAt + 1] ?? '0');
    const hostAt = argv.indexOf('--host');
    const host = hostAt >= 0 ? argv[hostAt + 1] : '127.0.0.1';
    const token = process.env.RUNBOOKS_MCP_TOKEN || undefined;
    if (!token && !LOOPBACK.includes(host)) {
      throw new Error(
        `--host ${host} is reachable from other machines: set RUNBOOKS_MCP_TOKEN to the bearer token clients must send`,
      );
    }
    const http = await serveHttp(makeServer, { port, host, token });
    const address = http.address() as AddressInfo;
    process.stderr.write(
      `${name}: MCP over streamable HTTP on http://${host}:${address.port}/mcp${
        token ? ' (bearer token required)' : ''
      }\n`,
    );
    return;
  }
  await makeServer().connect(new StdioServerTransport());
  // the client went away (closed our stdin): nothing is left to serve
  process.stdin.once('end', () => {
    stopRunningCommands();
    process.exit(0);
  });
  process.stderr.write(`${name}: MCP over stdio\n`);
}
