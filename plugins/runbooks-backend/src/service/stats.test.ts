import { TestDatabases } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import {
  authorization,
  startRunbooksTestBackend,
} from '../__testUtils__/backend';
import { checkoutEntity } from '../__testUtils__/fixtures';
import { demoLikePolicyFeatures } from '../__testUtils__/policy';
import { weekStarts } from './stats';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });

const ENTITY_REF = 'must be an entity ref such as component:default/checkout';
const WEEKS = 'must be a whole number from 1 to 52';
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

describe('weekStarts', () => {
  it('ends with the Monday 00:00 UTC of the week of now', () => {
    expect(
      weekStarts(new Date('2026-03-04T23:59:00+05:00'), 3).map(d =>
        d.toISOString(),
      ),
    ).toEqual([
      '2026-02-16T00:00:00.000Z',
      '2026-02-23T00:00:00.000Z',
      '2026-03-02T00:00:00.000Z',
    ]);
    // a Sunday belongs to the week that started six days before; a Monday starts its own
    expect(weekStarts(new Date('2026-03-08T23:00:00Z'), 1)).toEqual([
      new Date('2026-03-02T00:00:00Z'),
    ]);
    expect(weekStarts(new Date('2026-03-09T00:00:00Z'), 1)).toEqual([
      new Date('2026-03-09T00:00:00Z'),
    ]);
  });
});

describe.each(databases.eachSupportedId())(
  'GET /executions/stats on %s',
  id => {
    let knex: Knex;
    let server: any;
    let stop: () => Promise<void>;
    // the start of the current week (the last of the window) and of the window of 4 weeks
    const [since, , lastWeek, thisWeek] = weekStarts(new Date(), 4).map(d =>
      d.getTime(),
    );
    const ids: Record<string, string> = {};

    /** Stores an execution of runbook:default/`runbook` created at `created` (ms). */
    const seed = async (
      name: string,
      runbook: string,
      status: string,
      created: number,
      options: {
        tookMs?: number;
        requester?: string;
        entityOwner?: string;
        entityRef?: string;
        token?: string;
      } = {},
    ) => {
      ids[name] = randomUUID();
      await knex('executions').insert({
        id: ids[name],
        runbook_ref: `runbook:default/${runbook}`,
        runbook_digest: 'sha256:0',
        runbook_content: JSON.stringify({
          spec: {
            parameters: { token: { type: 'string', secret: true } },
            steps: [],
          },
        }),
        entity_ref: options.entityRef ?? 'component:default/checkout',
        entity_snapshot: '{}',
        entity_owner: options.entityOwner ?? 'group:default/team-checkout',
        runbook_owner: 'group:default/sre',
        parameters: JSON.stringify(
          options.token ? { token: options.token } : {},
        ),
        requester: options.requester ?? 'user:default/alice',
        mode: 'execute',
        status,
        current_step: 0,
        created_at: new Date(created),
        updated_at: new Date(created),
        finished_at:
          options.tookMs === undefined
            ? null
            : new Date(created + options.tookMs),
      });
    };

    beforeAll(async () => {
      knex = await databases.init(id);
      const started = await startRunbooksTestBackend({
        entities: [checkoutEntity],
        tools: {},
        features: demoLikePolicyFeatures(),
        knex,
      });
      server = started.server;
      stop = () => started.backend.stop();
      await seed('first', 'scale', 'succeeded', since + DAY, {
        tookMs: 60_000,
      });
      await seed('fast', 'scale', 'succeeded', lastWeek + 2 * HOUR, {
        tookMs: 120_000,
      });
      await seed('broke', 'scale', 'failed', lastWeek + 3 * HOUR, {
        tookMs: 30_000,
      });
      await seed('purged', 'purge', 'cancelled', lastWeek + DAY, {
        tookMs: 10_000,
      });
      // waits for approval (open): the newest of scale, with a secret parameter
      await seed('open', 'scale', 'waiting-approval', thisWeek + 60_000, {
        token: 'hunter2-secret',
      });
      // before the window
      await seed('old', 'scale', 'succeeded', since - DAY, { tookMs: 5_000 });
      await seed('restart', 'restart', 'failed', since - 3 * WEEK, {
        tookMs: 7_000,
      });
      // alice may not read it (not hers, not on an entity her team owns); bob may
      await seed('hidden', 'scale', 'succeeded', lastWeek + 4 * HOUR, {
        tookMs: 1_000,
        requester: 'user:default/zed',
        entityOwner: 'group:default/other',
      });
      // another entity
      await seed('elsewhere', 'scale', 'succeeded', lastWeek + HOUR, {
        tookMs: 1_000,
        entityRef: 'component:default/payments',
      });
      // the learning loop's records: a failed step, executions that needed a person (a step, a
      // kill switch), a rejection, an approval that does not count as one
      await knex('step_runs').insert([
        ...['broke', 'hidden'].map(name => ({
          execution_id: ids[name],
          step_index: 1,
          step_id: 'scale',
          status: 'failed',
          attempt: 1,
          idempotency_key: `${name}-1`,
        })),
        {
          execution_id: ids.fast,
          step_index: 0,
          step_id: 'read',
          status: 'succeeded',
          attempt: 1,
          idempotency_key: 'fast-0',
        },
      ]);
      await knex('execution_events').insert(
        [
          ['broke', 'needs-attention'],
          ['fast', 'kill-switch'],
          ['hidden', 'needs-attention'],
          ['first', 'step-failed'],
        ].map(([name, type]) => ({
          execution_id: ids[name],
          seq: 1,
          type,
          payload: '{}',
          created_at: new Date(lastWeek),
        })),
      );
      await knex('approvals').insert(
        [
          ['purged', 'rejected'],
          ['fast', 'approved'],
          ['hidden', 'rejected'],
        ].map(([name, decision]) => ({
          id: randomUUID(),
          execution_id: ids[name],
          step_index: 1,
          attempt: 1,
          plan_digest: 'sha256:p',
          decided_by: 'user:default/bob',
          decision,
          created_at: new Date(lastWeek),
        })),
      );
    });

    afterAll(() => stop());

    const get = (query: string, user = 'alice') =>
      request(server)
        .get(`/api/runbooks/executions/stats${query}`)
        .set('Authorization', authorization(user));

    it('counts the executions the caller may read, per week and per runbook', async () => {
      const res = await get('?entityRef=checkout&weeks=4');
      expect(res.status).toBe(200);
      const week = (start: number) => new Date(start).toISOString();
      expect(res.body).toEqual({
        entityRef: 'component:default/checkout',
        since: week(since),
        weeks: [
          {
            weekStart: week(since),
            succeeded: 1,
            failed: 0,
            cancelled: 0,
            open: 0,
            medianDurationMs: 60_000,
          },
          {
            weekStart: week(since + WEEK),
            succeeded: 0,
            failed: 0,
            cancelled: 0,
            open: 0,
          },
          {
            weekStart: week(lastWeek),
            succeeded: 1,
            failed: 1,
            cancelled: 1,
            open: 0,
            medianDurationMs: 30_000,
          },
          {
            weekStart: week(thisWeek),
            succeeded: 0,
            failed: 0,
            cancelled: 0,
            open: 1,
          },
        ],
        runbooks: [
          {
            runbookRef: 'runbook:default/scale',
            total: 4,
            succeeded: 2,
            failed: 1,
            cancelled: 0,
            successRate: 2 / 3,
            // of 30 s, 60 s and 120 s
            medianDurationMs: 60_000,
            needsAttention: 2,
            rejected: 0,
            mostFailedStep: { stepId: 'scale', failures: 1 },
            lastRun: expect.objectContaining({
              id: ids.open,
              status: 'waiting-approval',
              createdAt: week(thisWeek + 60_000),
              parameters: { token: '***' },
            }),
          },
          {
            runbookRef: 'runbook:default/purge',
            total: 1,
            succeeded: 0,
            failed: 0,
            cancelled: 1,
            medianDurationMs: 10_000,
            needsAttention: 0,
            rejected: 1,
            lastRun: expect.objectContaining({ id: ids.purged }),
          },
          {
            // run only before the window: no figures, but its last run
            runbookRef: 'runbook:default/restart',
            total: 0,
            succeeded: 0,
            failed: 0,
            cancelled: 0,
            needsAttention: 0,
            rejected: 0,
            lastRun: expect.objectContaining({
              id: ids.restart,
              finishedAt: week(since - 3 * WEEK + 7_000),
            }),
          },
        ],
        // of 10 s, 30 s, 60 s and 120 s
        medianDurationMs: 45_000,
        totals: {
          total: 5,
          succeeded: 2,
          failed: 1,
          cancelled: 1,
          successRate: 2 / 3,
          needsAttention: 2,
          rejected: 1,
        },
      });
      expect(JSON.stringify(res.body)).not.toContain('hunter2-secret');
    });

    it('counts what another reader may read', async () => {
      const res = await get(
        '?entityRef=component:default/checkout&weeks=4',
        'bob',
      );
      expect(res.body.runbooks[0]).toMatchObject({
        runbookRef: 'runbook:default/scale',
        total: 5,
        succeeded: 3,
        successRate: 3 / 4,
        // the hidden execution counts for bob: it needed attention, was rejected, failed at scale
        needsAttention: 3,
        rejected: 1,
        mostFailedStep: { stepId: 'scale', failures: 2 },
      });
      expect(res.body.weeks[2]).toMatchObject({ succeeded: 2 });
    });

    it('shows nothing to a caller who may read none of them', async () => {
      const res = await get('?entityRef=component:default/checkout', 'mallory');
      expect(res.status).toBe(200);
      expect(res.body.runbooks).toEqual([]);
      expect(res.body.medianDurationMs).toBeUndefined();
      expect(res.body.weeks).toHaveLength(12);
      expect(res.body.weeks.every((w: any) => w.succeeded + w.open === 0)).toBe(
        true,
      );
    });

    it('covers 12 weeks unless told', async () => {
      const res = await get('?entityRef=component:default/checkout');
      expect(res.body.weeks).toHaveLength(12);
      expect(res.body.since).toBe(weekStarts(new Date(), 12)[0].toISOString());
      // the run of scale before the four-week window is in this one
      expect(res.body.runbooks[0].total).toBe(5);
    });

    it.each([
      ['', `Invalid query: entityRef: ${ENTITY_REF}`],
      ['?weeks=4', `Invalid query: entityRef: ${ENTITY_REF}`],
      ['?entityRef=&weeks=4', `Invalid query: entityRef: ${ENTITY_REF}`],
      ['?entityRef=checkout&weeks=0', `Invalid query: weeks: ${WEEKS}`],
      ['?entityRef=checkout&weeks=53', `Invalid query: weeks: ${WEEKS}`],
      ['?entityRef=checkout&weeks=two', `Invalid query: weeks: ${WEEKS}`],
      ['?entityRef=checkout&weeks=1.5', `Invalid query: weeks: ${WEEKS}`],
      [
        '?entityRef=checkout&limit=5',
        'Invalid query: (root): Unrecognized key: "limit"',
      ],
    ])('answers 400 to %s', async (query, message) => {
      const res = await get(query);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(message);
    });
  },
);
