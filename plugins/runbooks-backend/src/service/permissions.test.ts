import { mockCredentials } from '@backstage/backend-test-utils';
import request from 'supertest';
import {
  authorization,
  runExecution,
  startRunbooksTestBackend,
  waitForStatus,
} from '../__testUtils__/backend';
import {
  checkoutEntity,
  replicasParameter,
  replicaTools,
  runbookEntity,
  scaleRunbookEntity,
  scaleStep,
} from '../__testUtils__/fixtures';
import { demoLikePolicyFeatures } from '../__testUtils__/policy';

jest.setTimeout(60_000);

const gated = runbookEntity('gated', {
  parameters: replicasParameter,
  steps: [{ ...scaleStep, approval: 'always' }],
});
// its apply fails, so it may have partly run: the execution needs attention
const breaks = runbookEntity('breaks', {
  steps: [{ id: 'break', tool: 'k8s/break', mutates: true, dryRun: true }],
});

const SERVICE = 'service';
const as = (who: string) =>
  who === SERVICE ? mockCredentials.service.header() : authorization(who);

async function startBackend() {
  const { backend, server } = await startRunbooksTestBackend({
    entities: [checkoutEntity, scaleRunbookEntity(), gated, breaks],
    tools: {
      ...replicaTools({ replicas: 2 }),
      'k8s/break': {
        plan: () => ({ changes: [{ action: 'update' }], objectCount: 1 }),
        run: () => {
          throw new Error('connection reset');
        },
      },
    },
    features: demoLikePolicyFeatures(),
  });
  const get = (url: string, who: string) =>
    request(server).get(`/api/runbooks${url}`).set('Authorization', as(who));
  return { backend, server, get };
}

const NONE = { cancel: false, resume: false, skip: false, abort: false };

describe('what each caller may do', () => {
  let t: Awaited<ReturnType<typeof startBackend>>;
  let waiting: string;
  let attention: string;
  let ended: string;

  beforeAll(async () => {
    t = await startBackend();
    waiting = await runExecution(t.server, 'gated', { replicas: 3 }, 'execute');
    attention = await runExecution(t.server, 'breaks', {}, 'execute');
    ended = await runExecution(t.server, 'scale', { replicas: 3 }, 'dry-run');
    await waitForStatus(t.server, waiting, ['waiting-approval']);
    await waitForStatus(t.server, attention, ['needs-attention']);
    await waitForStatus(t.server, ended, ['succeeded']);
  });

  afterAll(() => t.backend.stop());

  it.each([
    // alice requested them: she may cancel and abort, never resume or skip (approve)
    ['alice', 'waiting', { ...NONE, cancel: true }],
    ['alice', 'attention', { ...NONE, cancel: true, abort: true }],
    ['alice', 'ended', NONE],
    ['bob', 'waiting', { ...NONE, cancel: true }],
    [
      'bob',
      'attention',
      { cancel: true, resume: true, skip: true, abort: true },
    ],
    ['bob', 'ended', NONE],
    // carol reads everything and changes nothing
    ['carol', 'waiting', NONE],
    ['carol', 'attention', NONE],
    // a service acts for nobody, whatever the policy allows it
    [SERVICE, 'attention', NONE],
  ])(
    'GET /executions/:id tells %s the actions on the %s execution',
    async (who, which, actions) => {
      const id = { waiting, attention, ended }[which]!;
      const res = await t.get(`/executions/${id}`, who);
      expect(res.status).toBe(200);
      expect(res.body.actions).toEqual(actions);
    },
  );

  it('lists for approvers what waits for them, and for requesters their own requests', async () => {
    const bob = await t.get('/approvals', 'bob');
    expect(bob.status).toBe(200);
    expect(bob.body.items).toHaveLength(1);
    const [item] = bob.body.items;
    expect(item.execution).toMatchObject({
      id: waiting,
      status: 'waiting-approval',
      requester: 'user:default/alice',
      createdAt: expect.stringMatching(/Z$/),
    });
    expect(item.step).toMatchObject({
      stepId: 'scale',
      status: 'waiting-approval',
      planDigest: expect.stringMatching(/^sha256:/),
      blastRadius: { level: 'low', action: 'approve' },
    });
    expect(item.gate).toMatchObject({
      stepIndex: 0,
      stepId: 'scale',
      planDigest: item.step.planDigest,
      required: 1,
      approvals: [],
      canApprove: true,
    });
    expect(item.cannotApprove).toBeUndefined();
    // the gate is the one GET /executions/:id shows
    const details = await t.get(`/executions/${waiting}`, 'bob');
    expect(item.gate).toEqual(details.body.gate);

    const alice = await t.get('/approvals', 'alice');
    expect(alice.body.items).toHaveLength(1);
    expect(alice.body.items[0].execution.id).toBe(waiting);
    expect(alice.body.items[0].gate.canApprove).toBe(false);
    expect(alice.body.items[0].cannotApprove).toBe(
      'You requested this execution, so another person must approve it (four-eyes rule).',
    );
  });

  it.each([
    ['carol', 'reads it but may not approve it'],
    ['mallory', 'may not read it'],
    ['dave', 'may approve but not read it'],
  ])('lists nothing for %s, who %s', async who => {
    const res = await t.get('/approvals', who);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [] });
  });

  it('keeps the approvals inbox for people', async () => {
    const res = await t.get('/approvals', SERVICE);
    expect(res.status).toBe(403);
  });

  it('stores kill-switch targets as executions store refs, and refuses a malformed one', async () => {
    const post = (body: object) =>
      request(t.server)
        .post('/api/runbooks/kill-switches')
        .set('Authorization', as('bob'))
        .send(body);
    const entity = await post({
      scope: 'entity',
      target: 'checkout',
      reason: 'freeze',
    });
    expect(entity.status).toBe(201);
    expect(entity.body.target).toBe('component:default/checkout');
    const runbook = await post({
      scope: 'runbook',
      target: 'restart-deployment',
      reason: 'freeze',
    });
    expect(runbook.body.target).toBe('runbook:default/restart-deployment');
    const execution = await post({
      scope: 'execution',
      target: 'e-1',
      reason: 'freeze',
    });
    expect(execution.body.target).toBe('e-1');
    const bad = await post({
      scope: 'entity',
      target: 'component:',
      reason: 'freeze',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/target/);
    for (const s of [entity, runbook, execution]) {
      await request(t.server)
        .post(`/api/runbooks/kill-switches/${s.body.id}/release`)
        .set('Authorization', as('bob'));
    }
  });

  it('tells who may manage kill switches, with dates as ISO strings', async () => {
    const engaged = await request(t.server)
      .post('/api/runbooks/kill-switches')
      .set('Authorization', as('bob'))
      .send({
        scope: 'runbook',
        target: 'runbook:default/none',
        reason: 'test',
      });
    expect(engaged.status).toBe(201);
    const iso = expect.stringMatching(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    );
    expect(engaged.body).toMatchObject({ engagedAt: iso });
    for (const [who, canManage] of [
      ['bob', true],
      ['alice', false],
      ['carol', false],
      [SERVICE, false],
    ] as const) {
      const res = await t.get('/kill-switches', who);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        items: [
          {
            id: engaged.body.id,
            scope: 'runbook',
            target: 'runbook:default/none',
            reason: 'test',
            engagedBy: 'user:default/bob',
            engagedAt: iso,
          },
        ],
        canManage,
      });
    }
    const released = await request(t.server)
      .post(`/api/runbooks/kill-switches/${engaged.body.id}/release`)
      .set('Authorization', as('bob'));
    expect(released.body).toMatchObject({
      releasedBy: 'user:default/bob',
      releasedAt: iso,
    });
  });
});
