// Replicas: several backends on one database run 1,000 executions; every step runs exactly once
// and every execution's signed statements verify.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createExecution,
  databases,
  faultRunbook,
  freshDatabase,
  readLedger,
  Replica,
  report,
  verifyProvenance,
} from './common';

const EXECUTIONS = Number(
  process.env.RUNBOOKS_FAULT_REPLICA_EXECUTIONS ?? 1000,
);
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const runbook = faultRunbook('three-steps', [
  { tool: 'fault/read', mutates: false },
  { tool: 'fault/idempotent', mutates: true, idempotent: true },
  { tool: 'fault/once', mutates: true },
]);

for (const kind of databases()) {
  // SQLite is the single-node default: two processes share its file; PostgreSQL gets three replicas
  const count = kind === 'postgres' ? 3 : 2;
  test(
    `replicas: ${count} backends run ${EXECUTIONS} executions on ${kind}`,
    { timeout: 600_000 },
    async () => {
      const db = await freshDatabase(kind);
      const settings = {
        LEASE_MS: '5000',
        HEARTBEAT_MS: '1000',
        POLL_MS: '50',
        STEP_DELAY_MS: '1',
        CONCURRENCY: '20',
      };
      const replicas = Array.from(
        { length: count },
        (_, i) => new Replica(db, `replica-${i}`, settings),
      );
      try {
        const ids = new Set<string>();
        for (let i = 0; i < EXECUTIONS; i++)
          ids.add((await createExecution(db, runbook)).id);
        const started = Date.now();
        await Promise.all(replicas.map(r => r.start()));
        const deadline = Date.now() + 500_000;
        for (;;) {
          const left = await db
            .knex('executions')
            .whereNotIn('status', [
              'succeeded',
              'failed',
              'cancelled',
              'needs-attention',
            ])
            .count({ n: '*' });
          if (Number(left[0].n) === 0 || Date.now() > deadline) break;
          await sleep(200);
        }
        const seconds = (Date.now() - started) / 1000;

        const ledger = readLedger(db.ledgerPath);
        const perName = new Map<string, number>();
        for (const line of ledger) {
          if (line.event === 'start')
            perName.set(line.name, (perName.get(line.name) ?? 0) + 1);
        }
        const all = await db
          .knex('executions')
          .select('id', 'status', 'parameters');
        const statuses: Record<string, number> = {};
        let missing = 0;
        let twice = 0;
        for (const e of all) {
          statuses[e.status] = (statuses[e.status] ?? 0) + 1;
          const run = JSON.parse(e.parameters).run;
          for (let i = 0; i < 3; i++) {
            const n = perName.get(`${run}-s${i}`) ?? 0;
            if (n === 0) missing++;
            if (n > 1) twice += n - 1;
          }
        }
        const byReplica: Record<string, number> = {};
        for (const line of ledger) {
          if (line.event === 'start')
            byReplica[line.worker] = (byReplica[line.worker] ?? 0) + 1;
        }
        const figures = {
          database: kind,
          replicas: count,
          executions: all.length,
          statuses,
          stepsRun: ledger.filter(l => l.event === 'start').length,
          stepsRunTwice: twice,
          stepsNeverRun: missing,
          stepsByReplica: byReplica,
          seconds: Math.round(seconds * 10) / 10,
          executionsPerSecond: Math.round((all.length / seconds) * 10) / 10,
        };
        report(`fault-replicas-${kind}`, figures);
        assert.equal(all.length, EXECUTIONS);
        assert.deepEqual(statuses, { succeeded: EXECUTIONS });
        assert.equal(twice, 0, 'a step ran twice');
        assert.equal(missing, 0, 'a step never ran');
        assert.equal(
          Object.keys(byReplica).length,
          count,
          'not every replica took work',
        );
        // replicas signing concurrently on one database: every chain whole and closed
        await verifyProvenance(
          db,
          `${EXECUTIONS} executions on ${count} replicas`,
        );
      } finally {
        await Promise.all(replicas.map(r => r.stop()));
        await db.close();
      }
    },
  );
}
