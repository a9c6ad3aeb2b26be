// MCP benchmark: round trip of a tool call through the pool over stdio and streamable HTTP, against
// an in-process call of the same tool in the same run, and the start time of each project server
// (spawn → initialize → tools/list). Prints a table and writes test/artifacts/bench-mcp.json.
// Not a test: figures, no pass/fail.
import {
  InProcessToolInvoker,
  McpServerConfig,
  McpToolPool,
  planDigest,
} from '@runbooks/plugin-runbooks-node';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const bin = (name: string) =>
  path.join(root, 'packages/mcp-servers/bin', `runbooks-mcp-${name}`);
const artifacts = path.join(root, 'test/artifacts');

const silent = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silent,
};
const settings = {
  startTimeoutMs: 60_000,
  healthCheckIntervalMs: 600_000,
  maxOutputBytes: 256 * 1024,
};
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
};
const round = (v: number, digits = 3) =>
  Math.round(v * 10 ** digits) / 10 ** digits;

const call = (tool: string) => ({
  tool,
  input: {},
  dryRun: false,
  idempotencyKey: 'bench',
  signal: new AbortController().signal,
  timeoutMs: 10_000,
});

async function startHttpNoop(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [bin('noop'), '--http', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = err.match(/(http:\/\/\S+\/mcp)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', code => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { url, stop: () => child.kill() };
}

async function main() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const callsPerRound = Number(process.env.BENCH_CALLS ?? 300);
  const http = await startHttpNoop();
  const stdioPool = new McpToolPool(
    [
      {
        name: 'noop',
        transport: 'stdio',
        command: process.execPath,
        args: [bin('noop')],
        env: {},
      },
    ],
    settings,
    silent,
  );
  const httpPool = new McpToolPool(
    [
      {
        name: 'noop',
        transport: 'streamable-http',
        url: http.url,
        headers: {},
      },
    ],
    settings,
    silent,
  );
  const inProcess = new InProcessToolInvoker(
    {
      'noop/read': {
        description: { annotations: { readOnlyHint: true } },
        run: () => ({ applied: 0 }),
      },
    },
    planDigest,
  );
  const invokers = {
    'in-process': inProcess,
    'mcp stdio': stdioPool,
    'mcp streamable-http': httpPool,
  } as const;
  // warm up: start the servers, compile the validators
  for (const invoker of Object.values(invokers)) {
    for (let i = 0; i < 50; i++) await invoker.invoke(call('noop/read'));
  }
  const samples: Record<string, number[]> = {};
  // rounds alternate the transports so that machine noise hits all of them alike
  for (let r = 0; r < rounds; r++) {
    for (const [name, invoker] of Object.entries(invokers)) {
      for (let i = 0; i < callsPerRound; i++) {
        const t0 = performance.now();
        const result = await invoker.invoke(call('noop/read'));
        const t1 = performance.now();
        if (result.error) throw new Error(`${name}: ${result.error}`);
        (samples[name] ??= []).push(t1 - t0);
      }
    }
  }
  await stdioPool.close();
  await httpPool.close();
  http.stop();

  const base = quantile(samples['in-process'], 0.5);
  const roundTrip = Object.entries(samples).map(([transport, values]) => ({
    transport,
    calls: values.length,
    p50Ms: round(quantile(values, 0.5)),
    p95Ms: round(quantile(values, 0.95)),
    overheadVsInProcessP50Ms: round(quantile(values, 0.5) - base),
  }));

  const servers: Array<{
    name: string;
    args: string[];
    env?: Record<string, string>;
  }> = [
    { name: 'noop', args: [] },
    { name: 'kubernetes', args: ['--demo-cluster'] },
    { name: 'terraform', args: ['--demo'] },
    { name: 'ansible', args: ['--demo'] },
  ];
  const starts: Array<{
    server: string;
    p50Ms: number;
    maxMs: number;
    tools: number;
  }> = [];
  const startRounds = Number(process.env.BENCH_START_ROUNDS ?? 5);
  const startSamples: Record<string, number[]> = {};
  const toolCounts: Record<string, number> = {};
  for (let r = 0; r < startRounds; r++) {
    for (const server of servers) {
      const config: McpServerConfig = {
        name: server.name,
        transport: 'stdio',
        command: process.execPath,
        args: [bin(server.name), ...server.args],
        env: server.env ?? {},
      };
      const pool = new McpToolPool([config], settings, silent);
      const t0 = performance.now();
      const listed = await pool.listTools();
      const t1 = performance.now();
      await pool.close();
      if (listed.failures.length > 0) {
        process.stderr.write(
          `${server.name} did not start: ${listed.failures[0].error}\n`,
        );
        continue;
      }
      toolCounts[server.name] = listed.tools.length;
      (startSamples[server.name] ??= []).push(t1 - t0);
    }
  }
  for (const [server, values] of Object.entries(startSamples)) {
    starts.push({
      server,
      p50Ms: round(quantile(values, 0.5), 1),
      maxMs: round(Math.max(...values), 1),
      tools: toolCounts[server],
    });
  }

  process.stdout.write(
    '\nMCP tool call round trip (noop/read, through McpToolPool)\n',
  );
  // eslint-disable-next-line no-console
  console.table(roundTrip);
  process.stdout.write(
    '\nServer start: spawn → initialize → tools/list (through the TypeScript node transform)\n',
  );
  // eslint-disable-next-line no-console
  console.table(starts);
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(
    path.join(artifacts, 'bench-mcp.json'),
    JSON.stringify(
      {
        measuredAt: new Date().toISOString(),
        rounds,
        callsPerRound,
        roundTrip,
        starts,
      },
      null,
      2,
    ),
  );
}

main().catch(e => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
