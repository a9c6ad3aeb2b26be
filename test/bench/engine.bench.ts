// Engine benchmark: per-step overhead with a no-op tool, request → first step started, and step
// transitions per second with 1 / 10 / 100 concurrent executions, on SQLite and PostgreSQL.
// Prints a table and writes test/artifacts/bench-engine.json. Not a test: figures, no pass/fail.
import {
  InProcessToolInvoker,
  planDigest,
} from '@runbooks/plugin-runbooks-node';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ExecutionManager,
  ExecutionRunner,
  ExecutionWorker,
  stepDeclaredBlastRadius,
} from '../../plugins/runbooks-backend/src/engine';
import {
  artifacts,
  createExecution as requestExecution,
  faultRunbook,
  FaultDatabase,
  freshDatabase,
} from '../fault/common';

const silent = {
  info: () => {},
  debug: () => {},
  warn: () => {},
  error: (m: string, e?: Error) =>
    process.stderr.write(`${m} ${e?.stack ?? ''}\n`),
  child: () => silent,
};

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
};
const round = (v: number, digits = 2) =>
  Math.round(v * 10 ** digits) / 10 ** digits;

function engine(db: FaultDatabase, concurrency: number) {
  const tools = new InProcessToolInvoker(
    {
      'noop/read': {
        description: { annotations: { readOnlyHint: true } },
        run: () => ({}),
      },
      'noop/change': {
        description: {
          annotations: { destructiveHint: true, idempotentHint: true },
        },
        plan: () => ({ changes: [], objectCount: 0 }),
        run: () => ({}),
      },
    },
    planDigest,
  );
  const runner = new ExecutionRunner({
    store: db.store,
    events: db.events,
    tools,
    blastRadius: stepDeclaredBlastRadius,
    logger: silent,
    workerId: 'bench',
    defaultStepTimeoutMs: 60_000,
  });
  const worker = new ExecutionWorker({
    store: db.store,
    runner,
    logger: silent,
    workerId: 'bench',
    settings: {
      concurrency,
      leaseMs: 30_000,
      heartbeatMs: 10_000,
      pollMs: 1000,
      watchMs: 250,
    },
  });
  worker.start();
  // requests wake the local worker, as they do in the backend
  const manager = new ExecutionManager({
    store: db.store,
    events: db.events,
    wake: () => worker.wake(),
    approvalTtlMs: 3_600_000,
  });
  return { worker, manager };
}

async function finished(db: FaultDatabase, ids: string[]) {
  for (;;) {
    const rows = await db
      .knex('executions')
      .whereIn('id', ids)
      .whereIn('status', ['succeeded', 'failed'])
      .count({ n: '*' });
    if (Number(rows[0].n) === ids.length) return;
    await new Promise(r => setTimeout(r, 2));
  }
}

async function stepTimes(db: FaultDatabase, id: string): Promise<number[]> {
  const events = await db.store.listEvents(id);
  const done = events
    .filter(e => e.type === 'step-succeeded')
    .map(e => e.createdAt.getTime());
  return done.slice(1).map((t, i) => t - done[i]);
}

async function run(kind: 'sqlite' | 'postgres') {
  const db = await freshDatabase(kind);
  const results: Record<string, unknown> = { database: kind };
  try {
    const { worker, manager } = engine(db, 100);
    const createExecution = (_: FaultDatabase, rb: ReturnType<typeof read>) =>
      requestExecution(db, rb, manager);
    const read = (n: number) =>
      faultRunbook(
        `noop-${n}`,
        Array.from({ length: n }, () => ({
          tool: 'noop/read',
          mutates: false,
        })),
      );
    const change = (n: number) =>
      faultRunbook(
        `change-${n}`,
        Array.from({ length: n }, () => ({
          tool: 'noop/change',
          mutates: true,
          idempotent: true,
        })),
      );

    // warm up connections and code paths
    const warm = await createExecution(db, read(5));
    await finished(db, [warm.id]);

    // per-step overhead: sequential executions of 50 and 1 steps, alternating
    const t50: number[] = [];
    const t1: number[] = [];
    const intervals: number[] = [];
    const changeIntervals: number[] = [];
    for (let round = 0; round < 10; round++) {
      for (const [n, out] of [
        [50, t50],
        [1, t1],
      ] as const) {
        const start = performance.now();
        const e = await createExecution(db, read(n));
        await finished(db, [e.id]);
        out.push(performance.now() - start);
        if (n === 50) intervals.push(...(await stepTimes(db, e.id)));
      }
      const c = await createExecution(db, change(20));
      await finished(db, [c.id]);
      changeIntervals.push(...(await stepTimes(db, c.id)));
    }
    results.readStepMs = {
      p50: round(quantile(intervals, 0.5)),
      p99: round(quantile(intervals, 0.99)),
    };
    results.mutatingStepMs = {
      p50: round(quantile(changeIntervals, 0.5)),
      p99: round(quantile(changeIntervals, 0.99)),
    };
    results.perStepFrom50vs1Ms = round(
      (quantile(t50, 0.5) - quantile(t1, 0.5)) / 49,
    );

    // request → first step started
    const pickups: number[] = [];
    for (let i = 0; i < 30; i++) {
      const start = Date.now();
      const e = await createExecution(db, read(1));
      await finished(db, [e.id]);
      const started = (await db.store.listEvents(e.id)).find(
        ev => ev.type === 'step-started',
      )!;
      pickups.push(started.createdAt.getTime() - start);
    }
    results.pickupMs = {
      p50: quantile(pickups, 0.5),
      p99: quantile(pickups, 0.99),
    };

    // throughput: step transitions per second at 1 / 10 / 100 concurrent executions of 10 steps
    const throughput: Record<string, number> = {};
    const transitions: Record<string, number> = {};
    for (const concurrent of [1, 10, 100]) {
      const rb = read(10);
      const start = performance.now();
      const ids: string[] = [];
      for (let i = 0; i < concurrent; i++)
        ids.push((await createExecution(db, rb)).id);
      await finished(db, ids);
      const seconds = (performance.now() - start) / 1000;
      throughput[String(concurrent)] = Math.round((concurrent * 10) / seconds);
      const changes = await db
        .knex('execution_events')
        .whereIn('execution_id', ids)
        .where('type', 'like', 'step-%')
        .count({ n: '*' });
      transitions[String(concurrent)] = Math.round(
        Number(changes[0].n) / seconds,
      );
    }
    results.stepsCompletedPerSecond = throughput;
    results.stepStateChangesPerSecond = transitions;
    await worker.stop({ graceMs: 1000 });
  } finally {
    await db.close();
  }
  return results;
}

async function main() {
  const kinds: Array<'sqlite' | 'postgres'> = ['sqlite'];
  if (
    process.env.RUNBOOKS_FAULT_POSTGRES_URL ||
    process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING
  ) {
    kinds.push('postgres');
  } else {
    process.stderr.write(
      'PostgreSQL skipped: set BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING to include it\n',
    );
  }
  const all: Array<Record<string, unknown>> = [];
  for (const kind of kinds) all.push(await run(kind));
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(
    path.join(artifacts, 'bench-engine.json'),
    `${JSON.stringify(all, null, 2)}\n`,
  );

  const rows = [
    [
      'read step, p50 / p99 (ms)',
      (r: any) => `${r.readStepMs.p50} / ${r.readStepMs.p99}`,
    ],
    [
      'mutating step (dry-run + apply + verify), p50 / p99 (ms)',
      (r: any) => `${r.mutatingStepMs.p50} / ${r.mutatingStepMs.p99}`,
    ],
    ['per step, (T50 − T1) / 49 (ms)', (r: any) => `${r.perStepFrom50vs1Ms}`],
    [
      'request → first step started, p50 / p99 (ms)',
      (r: any) => `${r.pickupMs.p50} / ${r.pickupMs.p99}`,
    ],
    ...(['1', '10', '100'] as const).map(
      c =>
        [
          `steps completed/s (step state changes/s), ${c} concurrent`,
          (r: any) =>
            `${r.stepsCompletedPerSecond[c]} (${r.stepStateChangesPerSecond[c]})`,
        ] as const,
    ),
  ] as const;
  const header = ['', ...all.map(r => String(r.database))];
  const lines = [
    header,
    ...rows.map(([label, f]) => [label, ...all.map(r => f(r))]),
  ];
  const widths = header.map((_, i) => Math.max(...lines.map(l => l[i].length)));
  for (const line of lines) {
    process.stdout.write(
      `${line.map((c, i) => c.padEnd(widths[i])).join('  ')}\n`,
    );
  }
  process.stdout.write(
    `\nJSON: ${path.relative(
      process.cwd(),
      path.join(artifacts, 'bench-engine.json'),
    )}\n`,
  );
}

main().catch(e => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
