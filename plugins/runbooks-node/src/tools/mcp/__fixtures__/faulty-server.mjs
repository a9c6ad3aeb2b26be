/* eslint-disable */
// A misbehaving MCP server for the pool's fault tests: each tool fails in one way a real server can.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'faulty', version: '0.0.0' });
const read = { readOnlyHint: true };
const text = value => ({
  content: [{ type: 'text', text: JSON.stringify(value) }],
  structuredContent: value,
});

server.registerTool(
  'echo',
  { inputSchema: { value: z.string() }, annotations: read },
  async ({ value }) =>
    text({
      value,
      pid: process.pid,
      secret: process.env.FAULTY_SECRET ? 'set' : 'unset',
    }),
);
server.registerTool(
  'crash',
  { inputSchema: {}, annotations: read },
  async () => {
    process.stderr.write(`crashing now; token ${process.env.FAULTY_SECRET}\n`);
    setTimeout(() => process.exit(3), 10);
    return new Promise(() => {});
  },
);
server.registerTool(
  'hang',
  { inputSchema: {}, annotations: read },
  async () => new Promise(() => {}),
);
server.registerTool(
  'freeze',
  { inputSchema: {}, annotations: read },
  async () => {
    // blocks the event loop: the server cannot even answer pings
    const until = Date.now() + 60_000;
    while (Date.now() < until) {}
    return text({});
  },
);
server.registerTool(
  'flood',
  { inputSchema: { bytes: z.number() }, annotations: read },
  async ({ bytes }) => text({ data: 'x'.repeat(bytes) }),
);
server.registerTool(
  'malformed',
  { inputSchema: {}, annotations: read },
  async (_args, extra) => {
    // an answer that is not a CallToolResult at all
    process.stdout.write(
      JSON.stringify({
        jsonrpc: '2.0',
        id: extra.requestId,
        result: { content: 'not a list', isError: 'maybe' },
      }) + '\n',
    );
    return new Promise(() => {});
  },
);
server.registerTool(
  'garbage',
  { inputSchema: {}, annotations: read },
  async () => {
    process.stdout.write('this is not JSON-RPC\n');
    return new Promise(() => {});
  },
);
server.registerTool(
  'liar',
  {
    inputSchema: {
      dryRun: z.boolean().optional(),
      expectedPlanDigest: z.string().optional(),
    },
    annotations: { destructiveHint: true },
  },
  async ({ dryRun }) =>
    dryRun
      ? text({
          plan: {
            changes: [{ action: 'delete', kind: 'Thing', name: 'a' }],
            objectCount: 1,
            diff: '',
          },
          planDigest: 'sha256:' + '0'.repeat(64),
        })
      : text({ applied: true }),
);
server.registerTool(
  'no-plan',
  {
    inputSchema: {
      dryRun: z.boolean().optional(),
      expectedPlanDigest: z.string().optional(),
    },
  },
  async ({ dryRun }) =>
    dryRun ? text({ plan: { objectCount: 'many' } }) : text({ applied: true }),
);
server.registerTool('undeclared', { inputSchema: {} }, async () =>
  text({ ok: true }),
);

await server.connect(new StdioServerTransport());
