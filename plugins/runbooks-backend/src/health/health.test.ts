import { mockServices } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { planDigest } from '@runbooks/plugin-runbooks-node';
import {
  InProcessTool,
  InProcessToolInvoker,
} from '@runbooks/plugin-runbooks-node';
import knexFactory from 'knex';
import request from 'supertest';
import {
  authorization,
  startRunbooksTestBackend,
} from '../__testUtils__/backend';
import { demoLikePolicyFeatures } from '../__testUtils__/policy';
import {
  checkoutEntity,
  readStep,
  replicasParameter,
  runbookEntity,
  scaleStep,
} from '../__testUtils__/fixtures';
import { RunbookCatalog } from '../runbook';
import { HealthStore } from './HealthStore';
import { HealthSweep } from './HealthSweep';
import { RunbookHealthChecker } from './RunbookHealthChecker';

jest.setTimeout(30_000);

/** Scales checkout to a replica count that has a default, after reading it. */
const scaleTo3 = runbookEntity('scale-to-3', {
  parameters: { replicas: { ...replicasParameter.replicas, default: 3 } },
  preconditions: [
    {
      expression: 'steps.read.output.replicas > 0',
      message: 'The deployment is scaled to zero.',
    },
  ],
  steps: [readStep, scaleStep],
});

/** The same, with a count a person must give: its scale step cannot be checked alone. */
const scaleAsked = runbookEntity('scale-asked', {
  parameters: replicasParameter,
  preconditions: ['steps.read.output.replicas != parameters.replicas'],
  steps: [readStep, scaleStep],
});

/** Reads a token (a secret output) and requires it to be short: the finding must not show it. */
const tokenCheck = runbookEntity('token-check', {
  preconditions: ['size(steps.token.output.value) < 5'],
  steps: [
    { id: 'token', tool: 'k8s/token', mutates: false, secretOutput: true },
    { ...scaleStep, input: { replicas: 2 } },
  ],
});

/** A step whose tool no server offers. */
const unreachable = runbookEntity('unreachable', {
  steps: [{ id: 'look', tool: 'gone/get', mutates: false }],
});

/** A read step whose tool does not say it is read-only: never run by a check. */
const undeclared = runbookEntity('undeclared', {
  steps: [{ id: 'peek', tool: 'k8s/peek', mutates: false }],
});

/** The fake deployment's tools; `state.missing` makes it renamed away, `state.empty` plans nothing. */
function tools(state: {
  replicas: number;
  missing?: boolean;
  empty?: boolean;
}) {
  const tool: Record<string, InProcessTool> = {
    'k8s/get': {
      description: { annotations: { readOnlyHint: true } },
      run: () => {
        if (state.missing) {
          throw new Error('deployments.apps "checkout" not found');
        }
        return { replicas: state.replicas };
      },
    },
    'k8s/peek': { run: () => ({}) },
    'k8s/token': {
      description: { annotations: { readOnlyHint: true } },
      run: () => ({ value: 'tok-very-secret-123' }),
    },
    'k8s/scale': {
      plan: input => {
        if (state.missing) {
          throw new Error('deployments.apps "checkout" not found');
        }
        return {
          changes: state.empty
            ? []
            : [{ action: 'update', to: input.replicas }],
          objectCount: state.empty ? 0 : 1,
        };
      },
      run: input => {
        state.replicas = input.replicas as number;
        return { ...state };
      },
    },
  };
  return tool;
}

describe('runbook health checks', () => {
  const state = { replicas: 2, missing: false, empty: false };
  let server: any;
  let invoker: InProcessToolInvoker;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    const started = await startRunbooksTestBackend({
      entities: [
        checkoutEntity,
        scaleTo3,
        scaleAsked,
        unreachable,
        undeclared,
        tokenCheck,
      ],
      tools: tools(state),
      features: demoLikePolicyFeatures(),
    });
    server = started.server;
    invoker = started.invoker;
    stop = () => started.backend.stop();
  });
  afterAll(() => stop());
  beforeEach(() => {
    Object.assign(state, { replicas: 2, missing: false, empty: false });
  });

  const check = (user = 'alice') =>
    request(server)
      .post('/api/runbooks/entities/component/default/checkout/health/check')
      .set('Authorization', authorization(user));
  const byRunbook = (items: any[]) =>
    Object.fromEntries(items.map(i => [i.runbookRef.split('/')[1], i]));

  it('finds a healthy runbook healthy, reading and dry-running only', async () => {
    const res = await check();
    expect(res.status).toBe(200);
    const results = byRunbook(res.body.items);
    expect(results['scale-to-3']).toMatchObject({
      entityRef: 'component:default/checkout',
      status: 'healthy',
      findings: [],
      skipped: [],
      checked: { steps: ['read', 'scale'], preconditions: 1 },
    });
    // a count a person gives: the scale step and the precondition that reads it are not checked
    expect(results['scale-asked']).toMatchObject({
      status: 'healthy',
      checked: { steps: ['read'], preconditions: 0 },
    });
    expect(results['scale-asked'].skipped.map((s: any) => s.reason)).toEqual([
      'precondition `steps.read.output.replicas != parameters.replicas` needs parameters.replicas, which a check without a person does not have',
      'needs parameters.replicas, which a person gives',
    ]);
    expect(results.unreachable).toMatchObject({
      status: 'unknown',
      skipped: [
        { stepId: 'look', reason: 'no configured tool server offers gone/get' },
      ],
    });
    expect(results.undeclared).toMatchObject({
      status: 'healthy',
      checked: { steps: [], preconditions: 0 },
      skipped: [
        {
          stepId: 'peek',
          reason: 'k8s/peek does not declare itself read-only',
        },
      ],
    });
    expect(state.replicas).toBe(2);
  });

  it('finds drift: a renamed deployment, a dry-run that changes nothing, a precondition that no longer holds', async () => {
    state.missing = true;
    let results = byRunbook((await check()).body.items);
    expect(results['scale-to-3'].status).toBe('drifted');
    expect(results['scale-to-3'].findings).toEqual([
      {
        kind: 'missing-object',
        stepId: 'read',
        message: 'k8s/get: deployments.apps "checkout" not found',
      },
      {
        kind: 'missing-object',
        stepId: 'scale',
        message: expect.stringContaining('not found'),
      },
    ]);

    Object.assign(state, { missing: false, empty: true });
    results = byRunbook((await check()).body.items);
    expect(results['scale-to-3'].findings).toEqual([
      {
        kind: 'unexpected-count',
        stepId: 'scale',
        message:
          'The dry-run of k8s/scale would change nothing (0 objects): what the runbook acts on is empty or gone.',
      },
    ]);

    Object.assign(state, { empty: false, replicas: 0 });
    results = byRunbook((await check()).body.items);
    expect(results['scale-to-3'].findings).toEqual([
      {
        kind: 'failed-precondition',
        message: expect.stringMatching(
          /^Precondition failed: The deployment is scaled to zero\. .*It saw steps\.read\.output\.replicas = 0/,
        ),
      },
    ]);
    expect(state.replicas).toBe(0);
  });

  it('never writes a secret output into a finding', async () => {
    const results = byRunbook((await check()).body.items);
    expect(results['token-check'].status).toBe('drifted');
    const text = JSON.stringify(results['token-check']);
    expect(text).toContain('steps.token.output.value = \\"***\\"');
    expect(text).not.toContain('tok-very-secret-123');
    const stored = await request(server)
      .get('/api/runbooks/health?entityRef=checkout')
      .set('Authorization', authorization('alice'));
    expect(JSON.stringify(stored.body)).not.toContain('tok-very-secret-123');
  });

  it('skips the pairs a kill switch holds', async () => {
    const engaged = await request(server)
      .post('/api/runbooks/kill-switches')
      .set('Authorization', authorization('bob'))
      .send({ scope: 'runbook', target: 'scale-to-3', reason: 'hold it' });
    expect(engaged.status).toBe(201);
    const before = invoker.calls.length;
    const results = byRunbook((await check()).body.items);
    expect(results['scale-to-3']).toBeUndefined();
    expect(results['scale-asked']).toBeDefined();
    expect(
      invoker.calls
        .slice(before)
        .filter(c => c.idempotencyKey?.includes('scale-to-3')),
    ).toEqual([]);
    await request(server)
      .post(`/api/runbooks/kill-switches/${engaged.body.id}/release`)
      .set('Authorization', authorization('bob'));
  });

  it('never applies anything: every call to a mutating tool was a dry-run', async () => {
    await check();
    const scaleCalls = invoker.calls.filter(c => c.tool === 'k8s/scale');
    expect(scaleCalls.length).toBeGreaterThan(0);
    expect(scaleCalls.every(c => c.dryRun)).toBe(true);
    expect(invoker.calls.filter(c => c.tool === 'k8s/peek')).toEqual([]);
  });

  it('shows the last check on the runbook list and to readers, and lets only those who may run runbooks check', async () => {
    await check();
    const list = await request(server)
      .get('/api/runbooks/entities/component/default/checkout/runbooks')
      .set('Authorization', authorization('carol'));
    const scale = list.body.items.find((i: any) => i.name === 'scale-to-3');
    expect(scale.health).toMatchObject({
      status: 'healthy',
      verifiedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const read = await request(server)
      .get('/api/runbooks/health?entityRef=checkout')
      .set('Authorization', authorization('carol'));
    expect(read.status).toBe(200);
    expect(read.body.items.map((i: any) => i.runbookRef)).toEqual([
      'runbook:default/scale-asked',
      'runbook:default/scale-to-3',
      'runbook:default/token-check',
      'runbook:default/undeclared',
      'runbook:default/unreachable',
    ]);
    // carol reads every execution: the findings in full; mallory reads the entity only
    const token = (body: any) =>
      body.items.find(
        (i: any) => i.runbookRef === 'runbook:default/token-check',
      );
    expect(token(read.body).findings[0].message).toMatch(/^Precondition/);
    const other = await request(server)
      .get('/api/runbooks/health?entityRef=checkout')
      .set('Authorization', authorization('mallory'));
    expect(other.status).toBe(200);
    expect(token(other.body)).toMatchObject({
      status: 'drifted',
      findings: [
        {
          kind: 'failed-precondition',
          message: 'Details are for those who may run runbooks here.',
        },
      ],
      skipped: [],
    });
    expect((await check('carol')).status).toBe(403);
    const bad = await request(server)
      .get('/api/runbooks/health')
      .set('Authorization', authorization('carol'));
    expect(bad.status).toBe(400);
  });
});

describe('a sweep', () => {
  it('checks every runbook on every entity it applies to, and nothing else', async () => {
    const state = { replicas: 2 };
    const payments = {
      ...checkoutEntity,
      metadata: { ...checkoutEntity.metadata, name: 'payments' },
    };
    const catalog = catalogServiceMock({
      entities: [checkoutEntity, payments, scaleTo3, unreachable],
    });
    const invoker = new InProcessToolInvoker(tools(state), planDigest);
    const db = knexFactory({
      client: 'better-sqlite3',
      connection: ':memory:',
      useNullAsDefault: true,
    });
    await db.schema.createTable('runbook_health', table => {
      table.string('runbook_ref');
      table.string('entity_ref');
      table.string('status');
      table.text('findings');
      table.text('skipped');
      table.text('checked');
      table.timestamp('verified_at');
      table.primary(['runbook_ref', 'entity_ref']);
    });
    const store = new HealthStore(db);
    const sweep = new HealthSweep({
      runbookCatalog: new RunbookCatalog(
        catalog,
        mockServices.logger.mock(),
        invoker,
      ),
      catalog,
      auth: mockServices.auth(),
      checker: new RunbookHealthChecker({ tools: invoker }),
      store,
      logger: mockServices.logger.mock(),
    });
    const report = await sweep.sweep();
    // both runbooks apply to checkout only (appliesTo: entities)
    expect(report).toMatchObject({
      pairs: 2,
      healthy: 1,
      drifted: 0,
      unknown: 1,
    });
    expect(
      (await store.list()).map(
        h => `${h.runbookRef} ${h.entityRef} ${h.status}`,
      ),
    ).toEqual([
      'runbook:default/scale-to-3 component:default/checkout healthy',
      'runbook:default/unreachable component:default/checkout unknown',
    ]);
    expect(
      invoker.calls.filter(c => !c.dryRun && c.tool === 'k8s/scale'),
    ).toEqual([]);
    await db.destroy();
  });
});
