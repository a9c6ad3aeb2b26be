import { LoggerService } from '@backstage/backend-plugin-api';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { planDigest } from '../contract';
import { McpPoolSettings, McpServerConfig } from './config';
import { McpToolPool } from './McpToolPool';

const root = path.resolve(__dirname, '../../../../..');
const noopBin = path.join(root, 'packages/mcp-servers/bin/runbooks-mcp-noop');
const faulty = path.join(__dirname, '__fixtures__/faulty-server.mjs');
const SECRET = 'hunter2-very-secret-token';

function capturingLogger() {
  const lines: string[] = [];
  const logger: LoggerService = {
    debug: m => lines.push(`debug ${m}`),
    info: m => lines.push(`info ${m}`),
    warn: m => lines.push(`warn ${m}`),
    error: m => lines.push(`error ${m}`),
    child: () => logger,
  };
  return { logger, lines };
}

const settings: McpPoolSettings = {
  startTimeoutMs: 20_000,
  healthCheckIntervalMs: 60_000,
  maxOutputBytes: 64 * 1024,
};

const servers: McpServerConfig[] = [
  {
    name: 'noop',
    transport: 'stdio',
    command: process.execPath,
    args: [noopBin],
    env: {},
  },
  {
    name: 'faulty',
    transport: 'stdio',
    command: process.execPath,
    args: [faulty],
    env: { FAULTY_SECRET: SECRET },
  },
];

const call = (
  tool: string,
  input: Record<string, unknown> = {},
  extra: Partial<{
    dryRun: boolean;
    expectedPlanDigest: string;
    timeoutMs: number;
    signal: AbortSignal;
  }> = {},
) => ({
  tool,
  input,
  dryRun: extra.dryRun ?? false,
  expectedPlanDigest: extra.expectedPlanDigest,
  idempotencyKey: 'key-1',
  signal: extra.signal ?? new AbortController().signal,
  timeoutMs: extra.timeoutMs ?? 10_000,
});

describe('McpToolPool', () => {
  let pool: McpToolPool;
  let lines: string[];

  beforeEach(() => {
    const captured = capturingLogger();
    lines = captured.lines;
    pool = new McpToolPool(servers, settings, captured.logger);
  });
  afterEach(() => pool.close());

  it('starts servers lazily and describes tools as server/tool with their annotations', async () => {
    expect(pool.statuses().map(s => s.state)).toEqual(['idle', 'idle']);
    const change = await pool.describe('noop/change');
    expect(change).toMatchObject({
      name: 'noop/change',
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
      },
      supportsDryRun: true,
      supportsSnapshot: true,
    });
    expect((change!.inputSchema as any).properties.by.type).toBe('integer');
    expect(pool.statuses().map(s => s.state)).toEqual(['ready', 'idle']);
    expect(await pool.describe('noop/missing')).toBeUndefined();
    expect(await pool.describe('nowhere/change')).toBeUndefined();
    // a tool that declares no hints stays undeclared, so the engine treats it as destructive
    expect((await pool.describe('faulty/undeclared'))!.annotations).toEqual({
      readOnlyHint: undefined,
      destructiveHint: undefined,
      idempotentHint: undefined,
    });
  }, 30_000);

  it('plans, snapshots and applies only with the digest of the current plan', async () => {
    const before = await pool.snapshot({
      tool: 'noop/change',
      input: { by: 3 },
      signal: new AbortController().signal,
      timeoutMs: 5000,
    });
    const planned = await pool.invoke(
      call('noop/change', { by: 3 }, { dryRun: true }),
    );
    expect(planned.error).toBeUndefined();
    expect(planned.plan).toMatchObject({ objectCount: 1 });
    expect(planned.planDigest).toBe(planDigest(planned.plan!));
    const unchanged = await pool.snapshot({
      tool: 'noop/change',
      input: { by: 3 },
      signal: new AbortController().signal,
      timeoutMs: 5000,
    });
    expect(unchanged).toEqual(before);

    const refused = await pool.invoke(call('noop/change', { by: 3 }));
    expect(refused.error).toMatch(/needs the digest of an approved plan/);

    const applied = await pool.invoke(
      call(
        'noop/change',
        { by: 3 },
        { expectedPlanDigest: planned.planDigest },
      ),
    );
    expect(applied).toEqual({
      output: { counter: (before as any).counter + 3 },
    });

    const stale = await pool.invoke(
      call(
        'noop/change',
        { by: 3 },
        { expectedPlanDigest: planned.planDigest },
      ),
    );
    expect(stale.error).toMatch(/plan changed since it was approved/);
    const after = await pool.snapshot({
      tool: 'noop/change',
      input: {},
      signal: new AbortController().signal,
      timeoutMs: 5000,
    });
    expect(after).toEqual({ counter: (before as any).counter + 3 });
  }, 30_000);

  it('reports input the server rejects as an error result', async () => {
    const result = await pool.invoke(
      call('noop/change', { by: 'lots' }, { dryRun: true }),
    );
    expect(result.error).toMatch(/expected number/);
  }, 30_000);

  it('fails a call whose server crashes, and restarts the server on the next use', async () => {
    const first = await pool.invoke(call('faulty/echo', { value: 'a' }));
    const pid = (first.output as any).pid;
    await expect(pool.invoke(call('faulty/crash'))).rejects.toThrow(
      /tool server faulty exited during the call of faulty\/crash/,
    );
    const again = await pool.invoke(call('faulty/echo', { value: 'b' }));
    expect((again.output as any).value).toBe('b');
    expect((again.output as any).pid).not.toBe(pid);
    expect(pool.statuses()[1].starts).toBe(2);
  }, 30_000);

  it('times out a hanging call without restarting a server that still answers', async () => {
    const first = await pool.invoke(call('faulty/echo', { value: 'a' }));
    await expect(
      pool.invoke(call('faulty/hang', {}, { timeoutMs: 300 })),
    ).rejects.toThrow(/faulty\/hang timed out after 300 ms/);
    // other executions' calls on the same server are not cut off: it is the same process
    const again = await pool.invoke(call('faulty/echo', { value: 'b' }));
    expect((again.output as any).pid).toBe((first.output as any).pid);
    expect(pool.statuses()[1].starts).toBe(1);
  }, 30_000);

  it('restarts a frozen server after a timeout, then works again', async () => {
    const first = await pool.invoke(call('faulty/echo', { value: 'a' }));
    await expect(
      pool.invoke(call('faulty/freeze', {}, { timeoutMs: 300 })),
    ).rejects.toThrow(/timed out/);
    // the frozen server was replaced: the next call gets an answer from a new process
    const ok = await pool.invoke(call('faulty/echo', { value: 'c' }));
    expect((ok.output as any).value).toBe('c');
    expect((ok.output as any).pid).not.toBe((first.output as any).pid);
    expect(pool.statuses()[1].starts).toBe(2);
  }, 30_000);

  it('aborts a call when the signal fires', async () => {
    const controller = new AbortController();
    const pending = pool.invoke(
      call('faulty/hang', {}, { signal: controller.signal }),
    );
    setTimeout(() => controller.abort(new Error('kill switch')), 100);
    await expect(pending).rejects.toThrow();
    expect(controller.signal.aborted).toBe(true);
  }, 30_000);

  it('cuts off output above the cap with a marker', async () => {
    const result = await pool.invoke(
      call('faulty/flood', { bytes: 1024 * 1024 }),
    );
    const output = result.output as {
      truncated: boolean;
      bytes: number;
      preview: string;
    };
    expect(output.truncated).toBe(true);
    expect(output.bytes).toBeGreaterThan(1024 * 1024);
    expect(output.preview).toMatch(
      /…\[output truncated: \d+ bytes, 65536 kept\]$/,
    );
    expect(Buffer.byteLength(output.preview)).toBeLessThan(64 * 1024 + 200);
  }, 30_000);

  it('turns malformed answers into clear failures, never a hang', async () => {
    await expect(
      pool.invoke(call('faulty/malformed', {}, { timeoutMs: 5000 })),
    ).rejects.toThrow(/faulty\/malformed failed/);
    await expect(
      pool.invoke(call('faulty/garbage', {}, { timeoutMs: 1000 })),
    ).rejects.toThrow(/faulty\/garbage timed out/);
    const liar = await pool.invoke(call('faulty/liar', {}, { dryRun: true }));
    expect(liar.error).toMatch(
      /its planDigest sha256:0+ is not the digest of its plan/,
    );
    const noPlan = await pool.invoke(
      call('faulty/no-plan', {}, { dryRun: true }),
    );
    expect(noPlan.error).toMatch(
      /broke the tool contract: plan.changes is not an array/,
    );
  }, 30_000);

  it('keeps configured secrets out of the logs', async () => {
    const echoed = await pool.invoke(call('faulty/echo', { value: 'x' }));
    expect((echoed.output as any).secret).toBe('set');
    await expect(pool.invoke(call('faulty/crash'))).rejects.toThrow();
    await new Promise(r => setTimeout(r, 200));
    expect(lines.some(l => l.includes('crashing now; token ***'))).toBe(true);
    expect(lines.join('\n')).not.toContain(SECRET);
  }, 30_000);

  it('reports a server that cannot start, and backs off before the next attempt', async () => {
    const { logger } = capturingLogger();
    const broken = new McpToolPool(
      [
        {
          name: 'broken',
          transport: 'stdio',
          command: '/nonexistent/server',
          args: [],
          env: {},
        },
      ],
      settings,
      logger,
    );
    try {
      await expect(broken.describe('broken/x')).rejects.toThrow(
        /tool server broken could not be started/,
      );
      await expect(broken.describe('broken/x')).rejects.toThrow(
        /next attempt in \d+ s/,
      );
      expect(broken.statuses()[0]).toMatchObject({
        state: 'failed',
        starts: 1,
      });
    } finally {
      await broken.close();
    }
  }, 30_000);

  it('speaks streamable HTTP to a server', async () => {
    const child = spawn(process.execPath, [noopBin, '--http', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr!.on('data', (c: Buffer) => {
          err += c.toString();
          const m = err.match(/(http:\/\/\S+\/mcp)/);
          if (m) resolve(m[1]);
        });
        child.on('exit', code => reject(new Error(`exited ${code}: ${err}`)));
      });
      const http = new McpToolPool(
        [
          {
            name: 'remote',
            transport: 'streamable-http',
            url,
            headers: { authorization: `Bearer ${SECRET}` },
          },
        ],
        settings,
        capturingLogger().logger,
      );
      try {
        const planned = await http.invoke(
          call('remote/change', { by: 1 }, { dryRun: true }),
        );
        expect(planned.planDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
        const applied = await http.invoke(
          call(
            'remote/change',
            { by: 1 },
            { expectedPlanDigest: planned.planDigest },
          ),
        );
        expect(applied.output).toEqual({ counter: 1 });
        const read = await http.invoke(call('remote/read'));
        expect(read.output).toEqual({ applied: 1 });
      } finally {
        await http.close();
      }
    } finally {
      child.kill();
    }
  }, 30_000);
});
