import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError, NotFoundError } from '@backstage/errors';
import { Knex } from 'knex';
import path from 'node:path';
import { ExecutionStore } from './ExecutionStore';
import { NewExecution } from './types';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });
const migrations = path.resolve(__dirname, '../../migrations');

async function createStore(id: TestDatabaseId) {
  const knex = await databases.init(id);
  const store = await ExecutionStore.create({
    database: { getClient: async () => knex, migrations: { skip: false } },
  });
  return { knex, store };
}

const input = (over: Partial<NewExecution> = {}): NewExecution => ({
  runbookRef: 'runbook:default/scale-deployment',
  runbookDigest: 'sha256:abc',
  runbookContent: { spec: { steps: [{ id: 'read' }, { id: 'scale' }] } },
  entityRef: 'component:default/checkout',
  entitySnapshot: { metadata: { name: 'checkout' } },
  parameters: { replicas: 3 },
  requester: 'user:default/alice',
  mode: 'dry-run',
  stepIds: ['read', 'scale'],
  ...over,
});

describe.each(databases.eachSupportedId())('ExecutionStore on %s', id => {
  let knex: Knex;
  let store: ExecutionStore;

  beforeAll(async () => {
    ({ knex, store } = await createStore(id));
  });

  beforeEach(async () => {
    await knex('kill_switches').delete();
    await knex('executions').delete();
  });

  it('lists only the executions a permission decision lets the reader see', async () => {
    const a = await store.createExecution(
      input({
        requester: 'user:default/alice',
        entityOwner: 'group:default/team-a',
      }),
    );
    const b = await store.createExecution(
      input({
        requester: 'user:default/bob',
        entityOwner: 'group:default/team-b',
        runbookOwner: 'group:default/sre',
      }),
    );
    const c = await store.createExecution(
      input({ requester: 'user:default/carol' }),
    );
    const ids = async (
      visible: Parameters<ExecutionStore['listExecutions']>[1],
    ) => (await store.listExecutions({}, visible)).items.map(e => e.id).sort();
    const requester = {
      property: 'requester' as const,
      values: ['user:default/alice'],
    };
    const owner = {
      property: 'entityOwner' as const,
      values: ['group:default/team-b'],
    };
    const runbook = {
      property: 'runbookOwner' as const,
      values: ['group:default/sre'],
    };
    expect(await ids({ visible: requester })).toEqual([a.id]);
    expect(await ids({ visible: { anyOf: [requester, owner] } })).toEqual(
      [a.id, b.id].sort(),
    );
    expect(await ids({ visible: { allOf: [owner, runbook] } })).toEqual([b.id]);
    // an execution without an owner is "not owned by team-b", as the rule's apply() says
    expect(await ids({ visible: { not: owner } })).toEqual([a.id, c.id].sort());
    expect(await ids({ visible: { anyOf: [] as any } })).toEqual([]);
    expect(await ids({ visible: { not: requester } })).toEqual(
      [b.id, c.id].sort(),
    );
    expect(
      await ids({ visible: { property: 'requester', values: [] } }),
    ).toEqual([]);
    expect(await ids({})).toEqual([a.id, b.id, c.id].sort());
  });

  it('lists the gates waiting for approval, only those a reader may see when asked', async () => {
    const mine = await store.createExecution(
      input({ requester: 'user:default/alice' }),
    );
    const theirs = await store.createExecution(
      input({ requester: 'user:default/bob' }),
    );
    // waits, but not at its current step: it is not at a gate
    const elsewhere = await store.createExecution(input());
    const waitAt = async (
      executionId: string,
      step: number,
      minutesAgo: number,
    ) => {
      await knex('executions')
        .where({ id: executionId })
        .update({
          status: 'waiting-approval',
          current_step: step,
          created_at: new Date(Date.now() - minutesAgo * 60_000),
        });
      await knex('step_runs')
        .where({ execution_id: executionId, step_index: 1 })
        .update({ status: 'waiting-approval', attempt: 2 });
    };
    await waitAt(theirs.id, 1, 5);
    await waitAt(mine.id, 1, 10);
    await waitAt(elsewhere.id, 0, 20);
    await store.appendEvent(mine.id, 'approval-escalated', {
      step: 1,
      attempt: 2,
      level: 1,
    });
    await store.appendEvent(mine.id, 'approval-escalated', {
      step: 1,
      attempt: 1,
      level: 2,
    });
    const gates = (
      visible?: Parameters<ExecutionStore['listWaitingGates']>[0],
    ) =>
      store
        .listWaitingGates(visible)
        .then(all =>
          all.map(g => [
            g.execution.id,
            g.step.stepId,
            g.step.attempt,
            g.escalatedLevels,
          ]),
        );
    // oldest first, with the levels notified for the current attempt
    expect(await gates()).toEqual([
      [mine.id, 'scale', 2, [1]],
      [theirs.id, 'scale', 2, []],
    ]);
    expect(
      await gates({
        visible: { property: 'requester', values: ['user:default/alice'] },
      }),
    ).toEqual([[mine.id, 'scale', 2, [1]]]);
    expect(
      await gates({ visible: { property: 'requester', values: [] } }),
    ).toEqual([]);
  });

  it('records an execution with its exact content, pending steps and a created event', async () => {
    const created = await store.createExecution(input());
    expect(await store.getExecution(created.id)).toEqual(created);
    expect(created).toMatchObject({
      status: 'queued',
      mode: 'dry-run',
      currentStep: 0,
      parameters: { replicas: 3 },
      runbookContent: { spec: { steps: [{ id: 'read' }, { id: 'scale' }] } },
      entitySnapshot: { metadata: { name: 'checkout' } },
    });
    const steps = await store.getSteps(created.id);
    expect(steps.map(s => [s.stepId, s.status, s.attempt])).toEqual([
      ['read', 'pending', 0],
      ['scale', 'pending', 0],
    ]);
    expect(steps[1].idempotencyKey).toBe(`${created.id}/1/scale`);
    expect(
      (await store.listEvents(created.id)).map(e => [e.seq, e.type]),
    ).toEqual([[1, 'created']]);
  });

  it('lets exactly one of many workers claim an execution', async () => {
    const created = await store.createExecution(input());
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.claimExecution(`w${i}`, 60_000),
      ),
    );
    const won = claims.filter(c => c !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]!.execution).toMatchObject({
      id: created.id,
      status: 'running',
    });
    expect(won[0]!.recovered).toBe(false);
    expect(await store.claimExecution('late', 60_000)).toBeUndefined();
  });

  it('gives an expired lease to another worker, and the old worker can no longer write', async () => {
    const created = await store.createExecution(input());
    await store.claimExecution('dead', 1);
    await new Promise(r => setTimeout(r, 20));
    const again = await store.claimExecution('alive', 60_000);
    expect(again).toMatchObject({
      recovered: true,
      execution: { id: created.id, leaseOwner: 'alive' },
    });
    expect(await store.renewLease(created.id, 'dead', 60_000)).toBe(false);
    expect(await store.renewLease(created.id, 'alive', 60_000)).toBe(true);
    await expect(
      store.updateStep(created.id, 0, 'dead', { status: 'running' }),
    ).rejects.toThrow(ConflictError);
    await expect(
      store.finishRun(created.id, 'dead', { status: 'succeeded' }),
    ).rejects.toThrow(ConflictError);
    await store.updateStep(created.id, 0, 'alive', {
      status: 'succeeded',
      output: { replicas: 2 },
      phase: 'done',
    });
    expect((await store.getSteps(created.id))[0]).toMatchObject({
      status: 'succeeded',
      output: { replicas: 2 },
      phase: 'done',
    });
  });

  it('puts executions whose lease expired back in the queue', async () => {
    const created = await store.createExecution(input());
    await store.claimExecution('dead', 1);
    await new Promise(r => setTimeout(r, 20));
    expect(await store.requeueExpired()).toEqual([created.id]);
    expect(await store.getExecution(created.id)).toMatchObject({
      status: 'queued',
      leaseOwner: undefined,
    });
  });

  it('releases the lease when a run finishes, and records terminal times', async () => {
    const created = await store.createExecution(input());
    await store.claimExecution('w', 60_000);
    await store.finishRun(created.id, 'w', {
      status: 'succeeded',
      currentStep: 2,
    });
    const done = await store.getExecution(created.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      currentStep: 2,
      leaseOwner: undefined,
    });
    expect(done.finishedAt).toBeInstanceOf(Date);
  });

  it('changes idle executions only from the expected statuses', async () => {
    const created = await store.createExecution(input());
    expect(
      await store.transitionIdle(created.id, ['waiting-approval'], {
        status: 'queued',
      }),
    ).toBe(false);
    expect(
      await store.transitionIdle(
        created.id,
        ['queued'],
        { status: 'cancelled', statusMessage: 'by alice' },
        { index: 0, patch: { status: 'cancelled' } },
        { type: 'cancelled', payload: { by: 'alice' } },
      ),
    ).toBe(2);
    expect((await store.listEvents(created.id)).map(e => e.type)).toEqual([
      'created',
      'cancelled',
    ]);
    expect(await store.getExecution(created.id)).toMatchObject({
      status: 'cancelled',
      statusMessage: 'by alice',
    });
    expect((await store.getSteps(created.id))[0].status).toBe('cancelled');
  });

  it('numbers events per execution without gaps, even when written at once', async () => {
    const created = await store.createExecution(input());
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.appendEvent(created.id, 'tick', { i }),
      ),
    );
    const events = await store.listEvents(created.id);
    expect(events.map(e => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect((await store.listEvents(created.id, 9)).map(e => e.seq)).toEqual([
      10, 11,
    ]);
  });

  it('lists executions newest first with filters and cursors', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await store.createExecution(
            input({
              entityRef: i % 2 ? 'component:default/a' : 'component:default/b',
            }),
          )
        ).id,
      );
      await new Promise(r => setTimeout(r, 3));
    }
    const first = await store.listExecutions({}, { limit: 2 });
    expect(first.items.map(e => e.id)).toEqual([ids[4], ids[3]]);
    const second = await store.listExecutions(
      {},
      { limit: 2, cursor: first.nextCursor },
    );
    expect(second.items.map(e => e.id)).toEqual([ids[2], ids[1]]);
    const third = await store.listExecutions(
      {},
      { limit: 2, cursor: second.nextCursor },
    );
    expect(third.items.map(e => e.id)).toEqual([ids[0]]);
    expect(third.nextCursor).toBeUndefined();
    const filtered = await store.listExecutions({
      entityRef: 'component:default/a',
      status: ['queued'],
    });
    expect(filtered.items.map(e => e.id)).toEqual([ids[3], ids[1]]);
  });

  it('pages ended executions by when they finished, for audit exports', async () => {
    const ended: string[] = [];
    for (let i = 0; i < 5; i++) {
      const e = await store.createExecution(
        input({ entityRef: `component:default/s${i % 2}` }),
      );
      // finished in this order, one of them outside the range, one still open
      if (i === 4) continue;
      await knex('executions')
        .where({ id: e.id })
        .update({
          status: i === 3 ? 'failed' : 'succeeded',
          finished_at: new Date(Date.UTC(2026, 9, 1 + i * 10)),
        });
      ended.push(e.id);
    }
    const range = {
      from: new Date(Date.UTC(2026, 9, 1)),
      to: new Date(Date.UTC(2026, 10, 1)),
    };
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listFinished(range, { limit: 2, cursor });
      ids.push(...page.items.map(e => e.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    // Oct 1, 11, 21 are inside [Oct 1, Nov 1); Oct 31 too; the open one never
    expect(ids).toEqual(ended);
    expect(pages).toBe(2);
    const one = await store.listFinished({
      ...range,
      entityRef: 'component:default/s1',
    });
    expect(one.items.map(e => e.id)).toEqual([ended[1], ended[3]]);
    const none = await store.listFinished({
      from: new Date(Date.UTC(2026, 9, 2)),
      to: new Date(Date.UTC(2026, 9, 11)),
    });
    expect(none.items).toEqual([]);
  });

  it('finds the engaged kill switches that concern an execution', async () => {
    const target = {
      entityRef: 'component:default/checkout',
      runbookRef: 'runbook:default/scale-deployment',
      executionId: 'e1',
    };
    expect(await store.findEngagedKillSwitches(target)).toEqual([]);
    const other = await store.engageKillSwitch({
      scope: 'entity',
      target: 'component:default/other',
      reason: 'x',
      engagedBy: 'user:default/bob',
    });
    const mine = await store.engageKillSwitch({
      scope: 'runbook',
      target: 'runbook:default/scale-deployment',
      reason: 'bad runbook',
      engagedBy: 'user:default/bob',
    });
    expect(
      (await store.findEngagedKillSwitches(target)).map(s => s.id),
    ).toEqual([mine.id]);
    await store.releaseKillSwitch(mine.id, 'user:default/bob');
    expect(await store.findEngagedKillSwitches(target)).toEqual([]);
    await expect(
      store.releaseKillSwitch(mine.id, 'user:default/bob'),
    ).rejects.toThrow(NotFoundError);
    expect((await store.listKillSwitches()).map(s => s.id)).toEqual([other.id]);
    expect(
      await store.listKillSwitches({ includeReleased: true }),
    ).toHaveLength(2);
  });

  it('serialises decisions on a waiting step: of two at once, one decides', async () => {
    for (let round = 0; round < 5; round++) {
      const created = await store.createExecution(input());
      await knex('executions')
        .where({ id: created.id })
        .update({ status: 'waiting-approval', current_step: 1 });
      await knex('step_runs')
        .where({ execution_id: created.id, step_index: 1 })
        .update({
          status: 'waiting-approval',
          attempt: 1,
          plan_digest: 'sha256:p',
        });
      const decide =
        (decision: 'approved' | 'rejected', by: string) =>
        ({ approvals }: { approvals: unknown[] }) => {
          // each decider sees the decisions before it: the first one wins
          if (approvals.length > 0) throw new ConflictError('already decided');
          return {
            approvals: [
              {
                stepIndex: 1,
                attempt: 1,
                planDigest: 'sha256:p',
                decidedBy: by,
                decision,
              },
            ],
            execution: {
              status:
                decision === 'approved'
                  ? ('queued' as const)
                  : ('failed' as const),
            },
            event: { type: decision },
          };
        };
      const results = await Promise.allSettled([
        store.decideGate(created.id, 1, decide('approved', 'user:default/bob')),
        store.decideGate(
          created.id,
          1,
          decide('rejected', 'user:default/carol'),
        ),
      ]);
      expect(results.map(r => r.status).sort()).toEqual([
        'fulfilled',
        'rejected',
      ]);
      const loser = results.find(
        r => r.status === 'rejected',
      ) as PromiseRejectedResult;
      expect(loser.reason).toBeInstanceOf(ConflictError);
      const approvals = await store.listApprovals(created.id, 1);
      expect(approvals).toHaveLength(1);
      const execution = await store.getExecution(created.id);
      expect(execution.status).toBe(
        approvals[0].decision === 'approved' ? 'queued' : 'failed',
      );
    }
  });

  it('says which execution is missing', async () => {
    await expect(store.getExecution('nope')).rejects.toThrow(NotFoundError);
    await expect(store.getExecution('nope')).rejects.toThrow(
      'No execution nope',
    );
  });

  it('keeps every record when the approvals migration is rolled back, and backfills owners', async () => {
    const created = await store.createExecution(
      input({
        entitySnapshot: {
          metadata: { name: 'checkout', namespace: 'shop' },
          spec: { owner: 'Team-Checkout' },
        },
        runbookContent: {
          spec: { owner: 'group:default/sre', steps: [{ id: 'read' }] },
        },
      }),
    );
    await store.appendEvent(created.id, 'note', {});
    // every migration after the approvals one, then the approvals one
    const completed = async () =>
      ((await knex.migrate.list({ directory: migrations }))[0] as any[]).map(
        m => m.name ?? m.file ?? m,
      );
    while ((await completed()).some(name => name.includes('_approvals'))) {
      await knex.migrate.down({ directory: migrations });
    }
    expect(
      await knex('step_runs').where({ execution_id: created.id }),
    ).toHaveLength(2);
    expect(
      await knex('execution_events').where({ execution_id: created.id }),
    ).toHaveLength(2);
    await knex('executions')
      .where({ id: created.id })
      .update({ entity_owner: null, runbook_owner: null })
      .catch(() => undefined);
    await knex.migrate.latest({ directory: migrations });
    expect(await store.getExecution(created.id)).toMatchObject({
      entityOwner: 'group:shop/team-checkout',
      runbookOwner: 'group:default/sre',
    });
    expect(await store.getSteps(created.id)).toHaveLength(2);
  });

  it('runs its migrations down and up again', async () => {
    await knex.migrate.rollback({ directory: migrations }, true);
    for (const table of [
      'executions',
      'step_runs',
      'execution_events',
      'approvals',
      'kill_switches',
    ]) {
      expect(await knex.schema.hasTable(table)).toBe(false);
    }
    await knex.migrate.latest({ directory: migrations });
    for (const table of [
      'executions',
      'step_runs',
      'execution_events',
      'approvals',
      'kill_switches',
    ]) {
      expect(await knex.schema.hasTable(table)).toBe(true);
    }
  });
});
