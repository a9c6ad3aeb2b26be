// A backend replica for the fault suites: the real engine (store, worker, runner) on a shared
// database, with tools whose only side effect is a line in an append-only ledger file, so the
// test can count exactly what ran. Like the plugin, it signs a statement for every step and
// execution that ends (with the key in SIGNING_KEY_FILE). Configured by environment; runs until
// killed.
import {
  InProcessTool,
  InProcessToolInvoker,
  planDigest,
} from '@runbooks/plugin-runbooks-node';
import { appendFileSync, readFileSync } from 'node:fs';
import {
  ExecutionEvents,
  ExecutionRunner,
  ExecutionWorker,
  stepDeclaredBlastRadius,
} from '../../plugins/runbooks-backend/src/engine';
import { connect, LedgerLine, signingStore } from './common';

const env = (name: string, fallback?: string) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

const workerId = env('WORKER_ID');
const ledgerPath = env('LEDGER');
// CRASH_AT=in-tool-call|after-effect makes the process kill itself on its CRASH_ON_APPLY-th apply
const crashAt = process.env.CRASH_AT;
const crashOnApply = Number(process.env.CRASH_ON_APPLY ?? 0);
const stepDelayMs = Number(env('STEP_DELAY_MS', '20'));
let applies = 0;

function ledger(line: Omit<LedgerLine, 't' | 'pid' | 'worker'>) {
  const full: LedgerLine = {
    t: Date.now(),
    pid: process.pid,
    worker: workerId,
    ...line,
  };
  appendFileSync(ledgerPath, `${JSON.stringify(full)}\n`);
}

function effectsOf(name: string): number {
  return readFileSync(ledgerPath, 'utf8')
    .split('\n')
    .filter(
      l => l.includes(`"name":"${name}"`) && l.includes('"event":"effect"'),
    ).length;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      },
      { once: true },
    );
  });

function mutating(options: {
  idempotent: boolean;
  snapshot: boolean;
}): InProcessTool {
  return {
    description: {
      annotations: {
        destructiveHint: true,
        idempotentHint: options.idempotent,
      },
    },
    plan: input => ({
      changes: [{ action: 'tick', name: String(input.name) }],
      objectCount: 1,
    }),
    async run(input, { signal, idempotencyKey }) {
      applies++;
      const name = String(input.name);
      ledger({ event: 'start', name, key: idempotencyKey });
      signal.addEventListener('abort', () =>
        ledger({ event: 'aborted', name, key: idempotencyKey }),
      );
      if (crashAt === 'in-tool-call' && applies === crashOnApply) {
        process.kill(process.pid, 'SIGKILL');
      }
      await sleep(stepDelayMs, signal);
      ledger({ event: 'effect', name, key: idempotencyKey });
      if (crashAt === 'after-effect' && applies === crashOnApply) {
        process.kill(process.pid, 'SIGKILL');
      }
      return { ok: true };
    },
    ...(options.snapshot
      ? {
          snapshot: (input: Record<string, unknown>) => ({
            effects: effectsOf(String(input.name)),
          }),
        }
      : {}),
  };
}

async function main() {
  const knex = connect(env('DB_CLIENT'), env('DB_CONNECTION'));
  // signs every ended step and execution with the suite's key, as the plugin does
  const { store } = await signingStore(knex, env('SIGNING_KEY_FILE'), workerId);
  const events = new ExecutionEvents(store);
  const tools = new InProcessToolInvoker(
    {
      'fault/read': {
        description: { annotations: { readOnlyHint: true } },
        async run(input, { signal, idempotencyKey }) {
          const name = String(input.name);
          ledger({ event: 'start', name, key: idempotencyKey });
          signal.addEventListener('abort', () =>
            ledger({ event: 'aborted', name, key: idempotencyKey }),
          );
          await sleep(stepDelayMs, signal);
          ledger({ event: 'done', name, key: idempotencyKey });
          return { value: String(input.name) };
        },
      },
      'fault/idempotent': mutating({ idempotent: true, snapshot: false }),
      'fault/once-with-snapshot': mutating({
        idempotent: false,
        snapshot: true,
      }),
      'fault/once': mutating({ idempotent: false, snapshot: false }),
    },
    planDigest,
  );
  const logger = {
    info: () => {},
    debug: () => {},
    warn: (m: string) => process.stderr.write(`[${workerId}] warn ${m}\n`),
    error: (m: string, e?: Error) =>
      process.stderr.write(`[${workerId}] error ${m} ${e?.stack ?? ''}\n`),
    child: () => logger,
  };
  const runner = new ExecutionRunner({
    store,
    events,
    tools,
    blastRadius: stepDeclaredBlastRadius,
    logger,
    workerId,
    defaultStepTimeoutMs: Number(env('STEP_TIMEOUT_MS', '60000')),
  });
  const worker = new ExecutionWorker({
    store,
    runner,
    logger,
    workerId,
    settings: {
      concurrency: Number(env('CONCURRENCY', '50')),
      leaseMs: Number(env('LEASE_MS')),
      heartbeatMs: Number(env('HEARTBEAT_MS')),
      pollMs: Number(env('POLL_MS', '50')),
      watchMs: Number(env('WATCH_MS', '50')),
    },
  });
  worker.start();
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    worker
      .stop({ graceMs: 2000 })
      .then(() => knex.destroy())
      .finally(() => process.exit(0));
  });
}

main().catch(e => {
  process.stderr.write(`[${workerId}] failed to start: ${e?.stack ?? e}\n`);
  process.exit(1);
});
