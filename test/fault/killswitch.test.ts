// Kill switch under load: with 100 executions running across two replicas, engaging the global
// kill switch means no step starts afterwards and every running tool call is aborted within a second.
// The aborted reads go back to pending (nothing ended, nothing signed): no chain may be broken.
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

const EXECUTIONS = 100;
const WATCH_MS = 100;
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const runbook = faultRunbook(
  'slow-reads',
  Array.from({ length: 5 }, () => ({ tool: 'fault/read', mutates: false })),
);

for (const kind of databases()) {
  test(`kill switch under load on ${kind}`, { timeout: 300_000 }, async () => {
    const db = await freshDatabase(kind);
    const settings = {
      LEASE_MS: '5000',
      HEARTBEAT_MS: '1000',
      POLL_MS: '50',
      WATCH_MS: String(WATCH_MS),
      STEP_DELAY_MS: '2000',
      CONCURRENCY: '60',
    };
    const replicas = [
      new Replica(db, 'ks-a', settings),
      new Replica(db, 'ks-b', settings),
    ];
    try {
      for (let i = 0; i < EXECUTIONS; i++) await createExecution(db, runbook);
      await Promise.all(replicas.map(r => r.start()));
      const deadline = Date.now() + 60_000;
      let running = 0;
      while (Date.now() < deadline) {
        running = (
          await db
            .knex('executions')
            .where({ status: 'running' })
            .count({ n: '*' })
        )[0].n as number;
        const inFlight = readLedger(db.ledgerPath).filter(
          l => l.event === 'start',
        ).length;
        if (Number(running) >= EXECUTIONS && inFlight >= EXECUTIONS) break;
        await sleep(50);
      }
      assert.equal(
        Number(running),
        EXECUTIONS,
        'not every execution got running',
      );

      const engaged = await db.manager.engageKillSwitch({
        scope: 'global',
        reason: 'fault suite',
        by: 'user:default/bob',
      });
      const engagedAt = Date.now(); // after the switch is committed
      const settleBy = Date.now() + 30_000;
      while (Date.now() < settleBy) {
        const left = await db
          .knex('executions')
          .where({ status: 'running' })
          .count({ n: '*' });
        if (Number(left[0].n) === 0) break;
        await sleep(50);
      }
      await sleep(500);

      const ledger = readLedger(db.ledgerPath);
      const startsAfter = ledger.filter(
        l => l.event === 'start' && l.t > engagedAt,
      );
      const inFlight = ledger.filter(
        l =>
          l.event === 'start' &&
          l.t <= engagedAt &&
          !ledger.some(
            d =>
              d.key === l.key &&
              d.name === l.name &&
              d.event === 'done' &&
              d.t <= engagedAt,
          ),
      );
      const abortDelays = inFlight.map(start => {
        const aborted = ledger.find(
          a =>
            a.event === 'aborted' &&
            a.key === start.key &&
            a.name === start.name &&
            a.t >= start.t,
        );
        return aborted ? aborted.t - engagedAt : Infinity;
      });
      abortDelays.sort((a, b) => a - b);
      const statuses: Record<string, number> = {};
      for (const e of await db.knex('executions').select('status')) {
        statuses[e.status] = (statuses[e.status] ?? 0) + 1;
      }
      const figures = {
        database: kind,
        runningWhenEngaged: Number(running),
        toolCallsInFlight: inFlight.length,
        stepsStartedAfterEngage: startsAfter.length,
        abortAfterEngageMs: {
          p50: abortDelays[Math.floor(abortDelays.length / 2)] ?? null,
          p95: abortDelays[Math.floor(abortDelays.length * 0.95)] ?? null,
          max: abortDelays.at(-1) ?? null,
          bound: 1000,
        },
        statuses,
      };
      report(`fault-killswitch-${kind}`, figures);
      await db.manager.releaseKillSwitch(engaged.id, 'user:default/bob');

      assert.equal(
        startsAfter.length,
        0,
        'a step started after the kill switch was engaged',
      );
      assert.ok(
        inFlight.length >= EXECUTIONS,
        `only ${inFlight.length} calls were in flight`,
      );
      assert.ok(
        abortDelays.at(-1)! <= 1000,
        `an abort took ${abortDelays.at(-1)} ms`,
      );
      assert.deepEqual(statuses, { 'needs-attention': EXECUTIONS });
      // the executions wait for a person: no step ended, so none may carry a statement or a checkpoint
      await verifyProvenance(db, 'the kill switch');
    } finally {
      await Promise.all(replicas.map(r => r.kill()));
      await db.close();
    }
  });
}
