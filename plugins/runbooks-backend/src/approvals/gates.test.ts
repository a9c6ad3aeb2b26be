import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import request from 'supertest';
import {
  authorization,
  runExecution,
  startRunbooksTestBackend,
  waitForStatus,
} from '../__testUtils__/backend';
import {
  replicasParameter,
  replicaTools,
  runbookEntity,
  scaleStep as scaleStepOf,
} from '../__testUtils__/fixtures';

jest.setTimeout(60_000);

const groups: Record<string, string[]> = {
  'user:default/alice': ['group:default/team-checkout'],
  'user:default/bob': ['group:default/sre'],
  'user:default/carol': ['group:default/sre'],
  'user:default/dave': ['group:default/team-web', 'group:default/sre'],
};
const as = (name: string) => ({ Authorization: authorization(name) });

const checkout: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'checkout', namespace: 'default' },
  spec: { type: 'service', owner: 'team-checkout', lifecycle: 'production' },
  relations: [
    { type: 'ownedBy', targetRef: 'group:default/team-checkout' },
    { type: 'dependencyOf', targetRef: 'component:default/storefront' },
  ],
};
const storefront: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'storefront', namespace: 'default' },
  spec: { type: 'website', owner: 'team-web', lifecycle: 'production' },
  relations: [
    { type: 'ownedBy', targetRef: 'group:default/team-web' },
    { type: 'dependsOn', targetRef: 'component:default/checkout' },
  ],
};

const runbook = (name: string, steps: object[], blastRadius?: object) =>
  runbookEntity(name, {
    parameters: replicasParameter,
    steps,
    ...(blastRadius ? { blastRadius } : {}),
  });
const scaleStep = (id: string) => ({ ...scaleStepOf, id });
// checkout has one dependent: a medium radius, one approval
const scale = runbook('scale', [scaleStep('scale')]);
// the runbook asks for more than the policy: two approvals, one from an owner of storefront
const twoApprovals = runbook('two-approvals', [scaleStep('scale')], {
  actions: { medium: 'two-approvals' },
});
const twoSteps = runbook('two-steps', [
  scaleStep('first'),
  scaleStep('second'),
]);

/** A permission decision per user, changed by tests; read at every check. */
const allowed = new Map<string, boolean>();
const permissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () => {
    const decide = (credentials: any) => ({
      result:
        allowed.get(credentials.principal.userEntityRef) === false
          ? AuthorizeResult.DENY
          : AuthorizeResult.ALLOW,
    });
    return {
      authorize: async (requests: unknown[], { credentials }: any) =>
        requests.map(() => decide(credentials)),
      authorizeConditional: async (requests: unknown[], { credentials }: any) =>
        requests.map(() => decide(credentials)),
    } as any;
  },
});
const userInfo = createServiceFactory({
  service: coreServices.userInfo,
  deps: {},
  factory: () => ({
    async getUserInfo(credentials: any) {
      const ref = credentials.principal.userEntityRef;
      return {
        userEntityRef: ref,
        ownershipEntityRefs: [ref, ...(groups[ref] ?? [])],
      };
    },
  }),
});

async function startBackend(config: Record<string, unknown> = {}) {
  const state = { replicas: 2 };
  const { backend, server } = await startRunbooksTestBackend({
    entities: [checkout, storefront, scale, twoApprovals, twoSteps],
    tools: replicaTools(state),
    features: [permissions, userInfo],
    config,
  });
  const api = {
    get: (url: string, user = 'bob') =>
      request(server).get(`/api/runbooks${url}`).set(as(user)),
    post: (url: string, body: object, user: string) =>
      request(server).post(`/api/runbooks${url}`).set(as(user)).send(body),
  };
  const waitFor = (id: string, status: string) =>
    waitForStatus(server, id, [status], {
      as: 'bob',
      timeoutMs: 30_000,
      intervalMs: 50,
    });
  const waiting = async (name: string, requester = 'alice') => {
    const id = await runExecution(
      server,
      name,
      { replicas: 3 },
      'execute',
      requester,
    );
    return { id, details: await waitFor(id, 'waiting-approval') };
  };
  const decide = (
    id: string,
    gate: { stepIndex: number; planDigest: string },
    user: string,
    decision: 'approved' | 'rejected' = 'approved',
    extra: object = {},
  ) =>
    api.post(
      `/executions/${id}/steps/${gate.stepIndex}/decision`,
      { decision, planDigest: gate.planDigest, ...extra },
      user,
    );
  return { api, waitFor, waiting, decide, state, stop: () => backend.stop() };
}

describe('approval gates', () => {
  beforeEach(() => allowed.clear());

  it('stores the blast radius on the step and shows the gate to approvers', async () => {
    const t = await startBackend();
    const { details } = await t.waiting('scale');
    expect(details.steps[0].blastRadius).toMatchObject({
      level: 'medium',
      action: 'approve',
      approvalsRequired: 1,
      affected: [
        expect.objectContaining({
          entityRef: 'component:default/storefront',
          owner: 'group:default/team-web',
        }),
      ],
    });
    expect(details.gate).toMatchObject({
      stepId: 'scale',
      required: 1,
      approvals: [],
      canApprove: true,
    });
    // the requester sees the gate, and that she cannot approve it
    const mine = await t.api.get(
      `/executions/${details.execution.id}`,
      'alice',
    );
    expect(mine.body.gate.canApprove).toBe(false);
    await t.stop();
  });

  it('refuses self-approval even to a user whom the policy allows everything', async () => {
    const t = await startBackend();
    const { id, details } = await t.waiting('scale');
    const res = await t.decide(id, details.gate, 'alice');
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/four-eyes/);
    expect((await t.api.get(`/executions/${id}`)).body.approvals).toEqual([]);
    await t.stop();
  });

  it('refuses an approval of a plan that is not the current one', async () => {
    const t = await startBackend();
    const { id, details } = await t.waiting('scale');
    const res = await t.decide(
      id,
      { ...details.gate, planDigest: `sha256:${'0'.repeat(64)}` },
      'bob',
    );
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/review the current plan/);
    await t.stop();
  });

  it('refuses an approval after the approver lost the permission', async () => {
    const t = await startBackend();
    const { id, details } = await t.waiting('scale');
    allowed.set('user:default/bob', false);
    const res = await t.decide(id, details.gate, 'bob');
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/runbooks\.execution\.approve/);
    allowed.set('user:default/bob', true);
    expect((await t.decide(id, details.gate, 'bob')).status).toBe(200);
    await t.waitFor(id, 'succeeded');
    expect(t.state.replicas).toBe(3);
    await t.stop();
  });

  it('refuses an expired request and asks again with a fresh plan', async () => {
    const t = await startBackend({ approvals: { expiry: '1s' } });
    const { id, details } = await t.waiting('scale');
    await new Promise(r => setTimeout(r, 1200));
    const res = await t.decide(id, details.gate, 'bob');
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/expired/);
    // planned again: a new approval request (the next attempt of the step)
    const again = await t.waitFor(id, 'waiting-approval');
    expect(again.steps[0].attempt).toBe(details.steps[0].attempt + 1);
    expect(again.events.map((e: { type: string }) => e.type)).toContain(
      'approval-expired',
    );
    expect((await t.decide(id, again.gate, 'bob')).status).toBe(200);
    await t.waitFor(id, 'succeeded');
    await t.stop();
  });

  it('never counts an approval of an earlier request after a re-plan', async () => {
    const t = await startBackend({ approvals: { expiry: '1s' } });
    const { id, details } = await t.waiting('two-approvals');
    expect((await t.decide(id, details.gate, 'bob')).status).toBe(200);
    await new Promise(r => setTimeout(r, 1200));
    // dave would complete the gate, but the request expired: planned afresh, asked afresh
    const late = await t.decide(id, details.gate, 'dave');
    expect(late.status).toBe(409);
    const again = await t.waitFor(id, 'waiting-approval');
    expect(again.steps[0].attempt).toBe(details.steps[0].attempt + 1);
    expect(again.gate.approvals).toEqual([]);
    expect(again.gate.missing[0]).toBe('2 more approvals (0 of 2)');
    // a rejection stands even on an expired request with an old digest
    await new Promise(r => setTimeout(r, 1200));
    const no = await t.decide(id, details.gate, 'bob', 'rejected', {
      comment: 'too late at night',
    });
    expect(no.status).toBe(200);
    expect(no.body.status).toBe('failed');
    await t.stop();
  });

  it('records the same approval once when it is sent twice', async () => {
    const t = await startBackend();
    const { id, details } = await t.waiting('two-approvals');
    expect(details.gate).toMatchObject({
      required: 2,
      ownerApprovalFrom: ['group:default/team-web'],
    });
    expect((await t.decide(id, details.gate, 'bob')).status).toBe(200);
    expect((await t.decide(id, details.gate, 'bob')).status).toBe(200);
    const now = await t.api.get(`/executions/${id}`);
    expect(now.body.execution.status).toBe('waiting-approval');
    expect(now.body.approvals.map((a: any) => a.decidedBy)).toEqual([
      'user:default/bob',
    ]);
    expect(now.body.gate.missing).toEqual([
      '1 more approval (1 of 2)',
      'an approval from a member of group:default/team-web (owners of affected services)',
    ]);
    // bob's approval counts already: the page and his inbox say so instead of offering it again
    expect(now.body.gate).toMatchObject({
      canApprove: false,
      cannotApprove:
        'You approved this plan; it still needs 1 more approval (1 of 2) and an approval from a member of group:default/team-web (owners of affected services).',
    });
    const inbox = await t.api.get('/approvals', 'bob');
    expect(inbox.body.items.map((i: any) => i.cannotApprove)).toEqual([
      now.body.gate.cannotApprove,
    ]);
    await t.stop();
  });

  it('needs an owner of an affected service as one of two approvers', async () => {
    const t = await startBackend();
    const { id, details } = await t.waiting('two-approvals');
    expect((await t.decide(id, details.gate, 'bob')).status).toBe(200);
    // carol is an approver but owns nothing affected: she is told before she tries
    const carolView = await t.api.get(`/executions/${id}`, 'carol');
    expect(carolView.body.gate.canApprove).toBe(false);
    expect(carolView.body.gate.cannotApprove).toMatch(
      /you are not a member of group:default\/team-web, so your approval cannot complete it/,
    );
    expect(
      (await t.api.get(`/executions/${id}`, 'dave')).body.gate,
    ).toMatchObject({ canApprove: true });
    const carol = await t.decide(id, details.gate, 'carol');
    expect(carol.status).toBe(403);
    expect(carol.body.error.message).toMatch(/group:default\/team-web/);
    const dave = await t.decide(id, details.gate, 'dave');
    expect(dave.status).toBe(200);
    const done = await t.waitFor(id, 'succeeded');
    expect(
      done.approvals.map((a: any) => [a.decidedBy, a.ownerOf ?? null]),
    ).toEqual([
      ['user:default/bob', null],
      ['user:default/dave', 'group:default/team-web'],
    ]);
    await t.stop();
  });

  it('lets exactly one of a concurrent approval and rejection decide', async () => {
    const t = await startBackend();
    for (let round = 0; round < 3; round++) {
      const { id, details } = await t.waiting('scale');
      const [approve, reject] = await Promise.all([
        t.decide(id, details.gate, 'bob'),
        t.decide(id, details.gate, 'carol', 'rejected', { comment: 'no' }),
      ]);
      expect([approve.status, reject.status].sort()).toEqual([200, 409]);
      const approvals = (await t.api.get(`/executions/${id}`)).body.approvals;
      expect(approvals).toHaveLength(1);
      const final = await t.waitFor(
        id,
        approvals[0].decision === 'approved' ? 'succeeded' : 'failed',
      );
      expect(final.approvals).toHaveLength(1);
    }
    await t.stop();
  });

  it('ends the execution with the reason when a step is rejected', async () => {
    const t = await startBackend();
    const { id, details } = await t.waiting('scale');
    const res = await t.decide(id, details.gate, 'bob', 'rejected', {
      comment: 'not during the sale',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'failed',
      statusMessage:
        "Step 'scale' rejected by user:default/bob: not during the sale",
    });
    expect(t.state.replicas).toBe(2);
    await t.stop();
  });

  it('approves all remaining steps only when every remaining plan is known', async () => {
    const t = await startBackend();
    const { id, details } = await t.waiting('two-steps');
    const early = await t.decide(id, details.gate, 'bob', 'approved', {
      scope: 'remaining',
    });
    expect(early.status).toBe(409);
    expect(early.body.error.message).toMatch(/'second' are not known yet/);
    expect((await t.decide(id, details.gate, 'bob')).status).toBe(200);
    const second = await t.waitFor(id, 'waiting-approval');
    expect(second.gate.stepId).toBe('second');
    const last = await t.decide(id, second.gate, 'bob', 'approved', {
      scope: 'remaining',
    });
    expect(last.status).toBe(200);
    await t.waitFor(id, 'succeeded');
    await t.stop();
  });
});
