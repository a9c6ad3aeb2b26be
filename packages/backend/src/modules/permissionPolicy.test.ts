import {
  coreServices,
  createBackendModule,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { httpAuthServiceFactory } from '@backstage/backend-defaults/httpAuth';
import { permissionsServiceFactory } from '@backstage/backend-defaults/permissions';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import permissionPlugin from '@backstage/plugin-permission-backend';
import catalogModuleRunbooks from '@runbooks/plugin-catalog-backend-module-runbooks';
import runbooksPlugin, {
  createRouter,
} from '@runbooks/plugin-runbooks-backend';
import {
  InProcessToolInvoker,
  planDigest,
  runbooksToolsExtensionPoint,
} from '@runbooks/plugin-runbooks-node';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { parseAllDocuments } from 'yaml';
import { runbooksDemoPolicyModule } from './permissionPolicy';

jest.setTimeout(120_000);

const root = path.resolve(__dirname, '../../../..');

/** Memberships as the demo organisation declares them (examples/org.yaml). */
function demoMemberships(): Map<string, string[]> {
  const docs = parseAllDocuments(
    fs.readFileSync(path.join(root, 'examples/org.yaml'), 'utf8'),
  ).map(d => d.toJSON());
  const groups = new Map<string, string[]>();
  for (const doc of docs) {
    if (doc.kind === 'User') {
      groups.set(
        `user:default/${doc.metadata.name}`,
        (doc.spec.memberOf ?? []).map((g: string) => `group:default/${g}`),
      );
    }
  }
  return groups;
}

const memberships = demoMemberships();

// the user-info service the real backend derives from the sign-in token's ownership claims
const demoUserInfo = createServiceFactory({
  service: coreServices.userInfo,
  deps: {},
  factory: () => ({
    async getUserInfo(credentials) {
      const ref = (credentials.principal as { userEntityRef: string })
        .userEntityRef;
      return {
        userEntityRef: ref,
        ownershipEntityRefs: [ref, ...(memberships.get(ref) ?? [])],
      };
    },
  }),
});

/**
 * Mock auth whose on-behalf-of tokens carry the calling plugin as the actor, as real Backstage
 * tokens do: the permission backend refuses direct user requests for resource permissions without
 * a resource ref, and accepts them from a plugin acting for the user.
 */
const SERVICE_TOKEN_PREFIX = 'mock-service-token:';
const actorAwareAuth = createServiceFactory({
  service: coreServices.auth,
  deps: { plugin: coreServices.pluginMetadata },
  factory({ plugin }) {
    const inner = mockServices.auth({ pluginId: plugin.getId() });
    return {
      authenticate: async (token, options) => {
        const credentials = await inner.authenticate(token, options);
        if (token.startsWith(SERVICE_TOKEN_PREFIX)) {
          const { sub, obo } = JSON.parse(
            token.slice(SERVICE_TOKEN_PREFIX.length),
          );
          if (obo)
            return mockCredentials.user(obo, { actor: { subject: sub } });
        }
        return credentials;
      },
      getNoneCredentials: () => inner.getNoneCredentials(),
      getOwnServiceCredentials: () => inner.getOwnServiceCredentials(),
      isPrincipal: inner.isPrincipal.bind(inner) as typeof inner.isPrincipal,
      getPluginRequestToken: o => inner.getPluginRequestToken(o),
      getLimitedUserToken: c => inner.getLimitedUserToken(c),
      listPublicServiceKeys: () => inner.listPublicServiceKeys(),
    };
  },
});

// stand-ins for the kubernetes MCP tools: the matrix is about who may do what, not about tools
const k8s = new InProcessToolInvoker(
  {
    'kubernetes/get-deployment': {
      description: { annotations: { readOnlyHint: true } },
      run: () => ({ replicas: 2 }),
    },
    'kubernetes/rollout-restart': {
      plan: input => ({
        changes: [{ action: 'update', name: String(input.deployment) }],
        objectCount: 1,
        diff: `~ deployment ${String(input.deployment)}: restartedAt`,
      }),
      run: () => ({ restarted: true }),
    },
    'kubernetes/rollout-status': {
      description: { annotations: { readOnlyHint: true } },
      run: () => ({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
    },
  },
  planDigest,
);

const toolsModule = createBackendModule({
  pluginId: 'runbooks',
  moduleId: 'matrix-tools',
  register(reg) {
    reg.registerInit({
      deps: { tools: runbooksToolsExtensionPoint },
      async init({ tools }) {
        tools.addToolInvoker(k8s);
      },
    });
  },
});

type User = 'alice' | 'bob' | 'carol' | 'mallory' | 'anonymous';
const USERS: User[] = ['alice', 'bob', 'carol', 'mallory', 'anonymous'];

const header = (user: User) =>
  user === 'anonymous'
    ? {}
    : { Authorization: mockCredentials.user.header(`user:default/${user}`) };

/**
 * The permission matrix of the demo policy: every route of the API, as each demo user and as an
 * unauthenticated caller. alice develops checkout (team-checkout), bob is in sre, carol reviews
 * incidents, mallory is signed in but owns nothing. W is alice's execution waiting for approval,
 * D alice's finished dry-run, K a kill switch bob engaged. A 409 means the permission held and the
 * execution's state refused the action.
 */
const MATRIX: Array<{
  route: string;
  expect: Record<User, number>;
}> = [
  {
    route: 'GET /tools',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    route: 'GET /entities/:kind/:namespace/:name/runbooks',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    route: 'POST /executions',
    expect: { alice: 201, bob: 403, carol: 403, mallory: 403, anonymous: 401 },
  },
  {
    route: 'GET /executions',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    // filtered like the list: each caller's figures count what they may read
    route: 'GET /executions/stats',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    route: 'GET /executions/:id',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 403, anonymous: 401 },
  },
  {
    // the last health checks of an entity's runbooks: for those who may read the entity
    route: 'GET /health',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    // a check calls the entity's tools (reads and dry-runs): for those who may run runbooks there
    route: 'POST /entities/:kind/:namespace/:name/health/check',
    expect: { alice: 200, bob: 403, carol: 403, mallory: 403, anonymous: 401 },
  },
  {
    // what waits for the caller's approval, and the caller's own waiting requests
    route: 'GET /approvals',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    route: 'GET /executions/:id/events',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 403, anonymous: 401 },
  },
  {
    route: 'GET /executions/:id/provenance',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 403, anonymous: 401 },
  },
  {
    route: 'GET /executions/:id/bundles',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 403, anonymous: 401 },
  },
  {
    route: 'GET /provenance/keys',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    // filtered like the list: each caller exports what they may read
    route: 'GET /audit/bundles',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    route: 'GET /audit/summary',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    route: 'POST /executions/:id/cancel',
    expect: { alice: 409, bob: 409, carol: 403, mallory: 403, anonymous: 401 },
  },
  {
    route: 'POST /executions/:id/resume',
    expect: { alice: 403, bob: 409, carol: 403, mallory: 403, anonymous: 401 },
  },
  {
    route: 'POST /executions/:id/skip',
    expect: { alice: 403, bob: 409, carol: 403, mallory: 403, anonymous: 401 },
  },
  {
    route: 'POST /executions/:id/abort',
    expect: { alice: 409, bob: 409, carol: 403, mallory: 403, anonymous: 401 },
  },
  {
    route: 'POST /executions/:id/steps/:index/decision',
    expect: { alice: 403, bob: 200, carol: 403, mallory: 403, anonymous: 401 },
  },
  {
    // everyone signed in may report an incident; whether a proposal holds is the requester's permission
    route: 'POST /incidents/alertmanager',
    expect: { alice: 201, bob: 201, carol: 201, mallory: 201, anonymous: 401 },
  },
  {
    route: 'POST /incidents',
    expect: { alice: 201, bob: 201, carol: 201, mallory: 201, anonymous: 401 },
  },
  {
    route: 'POST /entities/:kind/:namespace/:name/ask',
    expect: { alice: 201, bob: 201, carol: 201, mallory: 201, anonymous: 401 },
  },
  {
    route: 'GET /proposals',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    route: 'POST /proposals/:id/start',
    expect: { alice: 201, bob: 403, carol: 403, mallory: 403, anonymous: 401 },
  },
  {
    route: 'POST /proposals/:id/dismiss',
    expect: { alice: 200, bob: 403, carol: 403, mallory: 403, anonymous: 401 },
  },
  {
    route: 'GET /executions/:id/summary',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 403, anonymous: 401 },
  },
  {
    route: 'GET /kill-switches',
    expect: { alice: 200, bob: 200, carol: 200, mallory: 200, anonymous: 401 },
  },
  {
    route: 'POST /kill-switches',
    expect: { alice: 403, bob: 201, carol: 403, mallory: 403, anonymous: 401 },
  },
  {
    route: 'POST /kill-switches/:id/release',
    expect: { alice: 403, bob: 200, carol: 403, mallory: 403, anonymous: 401 },
  },
];

async function waitFor<T>(
  fn: () => Promise<T | undefined>,
  what: string,
): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

describe('the demo permission policy', () => {
  it('lists every route of the API in the matrix', async () => {
    // a router over nothing: only its routes are read
    const router = await createRouter({} as any);
    const routes = router.stack
      .filter((layer: any) => layer.route)
      .map(
        (layer: any) =>
          `${Object.keys(layer.route.methods)[0].toUpperCase()} ${
            layer.route.path
          }`,
      )
      .sort();
    expect(routes).toEqual(MATRIX.map(row => row.route).sort());
  });

  it('holds for every route, demo user and unauthenticated caller', async () => {
    const backend = await startTestBackend({
      features: [
        catalogPlugin,
        catalogModuleRunbooks,
        permissionPlugin,
        runbooksDemoPolicyModule,
        runbooksPlugin,
        toolsModule,
        demoUserInfo,
        actorAwareAuth,
        httpAuthServiceFactory,
        permissionsServiceFactory,
        mockServices.rootConfig.factory({
          data: {
            permission: { enabled: true },
            catalog: {
              rules: [
                {
                  allow: [
                    'Component',
                    'System',
                    'Resource',
                    'Group',
                    'User',
                    'Runbook',
                  ],
                },
              ],
              locations: [
                { type: 'file', target: path.join(root, 'examples/org.yaml') },
                { type: 'file', target: path.join(root, 'examples/shop.yaml') },
                {
                  type: 'file',
                  target: path.join(root, 'runbooks/restart-deployment.yaml'),
                },
              ],
            },
            runbooks: {
              engine: { pollIntervalMs: 50, killSwitchCheckMs: 50 },
            },
          },
        }),
      ],
    });
    const server = backend.server;
    const api = (user: User) => ({
      get: (url: string) =>
        request(server).get(`/api/runbooks${url}`).set(header(user)),
      post: (url: string, body: object = {}) =>
        request(server)
          .post(`/api/runbooks${url}`)
          .set(header(user))
          .send(body),
    });

    // the catalog has processed checkout and its runbook
    await waitFor(async () => {
      const res = await api('alice').get(
        '/entities/component/default/checkout/runbooks',
      );
      return res.status === 200 && res.body.items.length > 0 ? true : undefined;
    }, 'the restart-deployment runbook on checkout');

    const run = async (mode: 'dry-run' | 'execute') => {
      const res = await api('alice').post('/executions', {
        runbookRef: 'runbook:default/restart-deployment',
        entityRef: 'component:default/checkout',
        parameters: {},
        mode,
      });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const settled = (id: string, status: string) =>
      waitFor(async () => {
        const res = await api('bob').get(`/executions/${id}`);
        return res.body.execution?.status === status ? res.body : undefined;
      }, `execution ${id} ${status}`);

    const D = await run('dry-run');
    await settled(D, 'succeeded');
    const W = await run('execute');
    const waiting = await settled(W, 'waiting-approval');
    // checkout has one dependent (storefront): medium radius, one approval
    expect(waiting.gate).toMatchObject({
      stepId: 'restart',
      required: 1,
      canApprove: true,
    });
    const planDigestW = waiting.gate.planDigest;
    // two proposals alice asked the (offline) agent for: one to start, one to dismiss
    const ask = async () => {
      const res = await api('alice').post(
        '/entities/component/default/checkout/ask',
        { text: 'checkout is stuck, please restart it' },
      );
      expect(res.body.proposals).toEqual([
        expect.objectContaining({
          status: 'pending',
          runbookRef: 'runbook:default/restart-deployment',
        }),
      ]);
      return res.body.proposals[0].id as string;
    };
    const P1 = await ask();
    const P2 = await ask();
    const alert = {
      version: '4',
      alerts: [
        {
          status: 'firing',
          labels: {
            alertname: 'KubeDeploymentReplicasMismatch',
            deployment: 'checkout',
            namespace: 'shop',
          },
        },
      ],
    };
    let killSwitchId: string | undefined;

    const call: Record<string, (user: User) => Promise<request.Response>> = {
      'GET /tools': u => api(u).get('/tools'),
      'GET /entities/:kind/:namespace/:name/runbooks': u =>
        api(u).get('/entities/component/default/checkout/runbooks'),
      'POST /executions': u =>
        api(u).post('/executions', {
          runbookRef: 'runbook:default/restart-deployment',
          entityRef: 'component:default/checkout',
          mode: 'dry-run',
        }),
      'GET /executions': u => api(u).get('/executions'),
      'GET /executions/stats': u =>
        api(u).get('/executions/stats?entityRef=checkout&weeks=2'),
      'GET /executions/:id': u => api(u).get(`/executions/${W}`),
      'GET /approvals': u => api(u).get('/approvals'),
      'GET /health': u => api(u).get('/health?entityRef=checkout'),
      'POST /entities/:kind/:namespace/:name/health/check': u =>
        api(u).post('/entities/component/default/checkout/health/check'),
      'GET /executions/:id/events': u => api(u).get(`/executions/${D}/events`),
      'GET /executions/:id/provenance': u =>
        api(u).get(`/executions/${D}/provenance`),
      'GET /executions/:id/bundles': u =>
        api(u).get(`/executions/${D}/bundles`),
      'GET /provenance/keys': u => api(u).get('/provenance/keys'),
      'GET /audit/bundles': u =>
        api(u).get(`/audit/bundles?from=2000-01-01&to=2100-01-01`),
      'GET /audit/summary': u =>
        api(u).get(`/audit/summary?from=2000-01-01&to=2100-01-01`),
      'POST /executions/:id/cancel': u =>
        api(u).post(`/executions/${D}/cancel`),
      'POST /executions/:id/resume': u =>
        api(u).post(`/executions/${D}/resume`),
      'POST /executions/:id/skip': u => api(u).post(`/executions/${D}/skip`),
      'POST /executions/:id/abort': u => api(u).post(`/executions/${D}/abort`),
      'POST /executions/:id/steps/:index/decision': u =>
        api(u).post(`/executions/${W}/steps/1/decision`, {
          decision: 'approved',
          planDigest: planDigestW,
        }),
      'POST /incidents/alertmanager': u =>
        api(u).post('/incidents/alertmanager', alert),
      'POST /incidents': u =>
        api(u).post('/incidents', {
          entityRef: 'component:default/checkout',
          alertName: 'KubeDeploymentReplicasMismatch',
        }),
      'POST /entities/:kind/:namespace/:name/ask': u =>
        api(u).post('/entities/component/default/checkout/ask', {
          text: 'restart checkout, it is stuck',
        }),
      'GET /proposals': u =>
        api(u).get('/proposals?entityRef=component:default/checkout'),
      'POST /proposals/:id/start': u =>
        api(u).post(`/proposals/${P1}/start`, { mode: 'dry-run' }),
      'POST /proposals/:id/dismiss': u =>
        api(u).post(`/proposals/${P2}/dismiss`),
      'GET /executions/:id/summary': u =>
        api(u).get(`/executions/${D}/summary`),
      'GET /kill-switches': u => api(u).get('/kill-switches'),
      'POST /kill-switches': u =>
        api(u).post('/kill-switches', {
          scope: 'runbook',
          target: 'runbook:default/not-in-this-test',
          reason: 'matrix test',
        }),
      'POST /kill-switches/:id/release': u =>
        api(u).post(`/kill-switches/${killSwitchId ?? 'none'}/release`),
    };

    const failures: string[] = [];
    for (const row of MATRIX) {
      // the one caller who may act goes last, so the others meet the same state
      const order = [...USERS].sort(
        (a, b) =>
          Number(row.expect[a] < 300 && a !== 'anonymous') -
          Number(row.expect[b] < 300 && b !== 'anonymous'),
      );
      for (const user of order) {
        const res = await call[row.route](user);
        if (res.status !== row.expect[user]) {
          failures.push(
            `${row.route} as ${user}: ${res.status}, expected ${
              row.expect[user]
            } (${JSON.stringify(res.body?.error?.message ?? '')})`,
          );
        }
        if (row.route === 'POST /kill-switches' && res.status === 201) {
          killSwitchId = res.body.id;
        }
        if (row.route === 'GET /audit/summary' && res.status === 200) {
          // the ended dry-run D is in every export but mallory's
          const listsD = res.text.includes(D);
          if (listsD !== (user !== 'mallory')) {
            failures.push(
              `GET /audit/summary as ${user} ${listsD ? 'lists' : 'misses'} D`,
            );
          }
        }
        if (
          row.route === 'POST /incidents/alertmanager' &&
          res.status === 201
        ) {
          // the proposal holds only for a requester who may run runbooks on checkout
          const [proposal] = res.body.incidents[0].proposals;
          const expected = user === 'alice' ? 'pending' : 'refused';
          if (proposal?.status !== expected) {
            failures.push(
              `the alert's proposal for ${user} is ${proposal?.status}, expected ${expected}`,
            );
          }
        }
        if (row.route === 'GET /executions/:id' && res.status === 200) {
          // W waits for approval: its requester and sre may cancel it, nobody resumes it yet
          const expected = {
            cancel: user === 'alice' || user === 'bob',
            resume: false,
            skip: false,
            abort: false,
          };
          if (JSON.stringify(res.body.actions) !== JSON.stringify(expected)) {
            failures.push(
              `GET /executions/:id as ${user}: actions ${JSON.stringify(
                res.body.actions,
              )}`,
            );
          }
        }
        if (row.route === 'GET /approvals' && res.status === 200) {
          // bob approves W; alice follows her own request; carol and mallory have nothing to do
          const listed = res.body.items.map(
            (i: { execution: { id: string }; gate: { canApprove: boolean } }) =>
              `${i.execution.id}:${i.gate.canApprove}`,
          );
          const expected =
            { alice: [`${W}:false`], bob: [`${W}:true`] }[
              user as 'alice' | 'bob'
            ] ?? [];
          if (JSON.stringify(listed) !== JSON.stringify(expected)) {
            failures.push(`GET /approvals as ${user} lists ${listed}`);
          }
          if (user === 'alice' && !res.body.items[0]?.cannotApprove) {
            failures.push('GET /approvals as alice: no four-eyes reason');
          }
        }
        if (row.route === 'GET /executions/stats' && res.status === 200) {
          // D and W, for everyone but mallory, who may read neither
          const [restart] = res.body.runbooks;
          const counted = restart?.total ?? 0;
          if (user === 'mallory' ? counted !== 0 : counted < 2) {
            failures.push(`GET /executions/stats as ${user} counts ${counted}`);
          }
        }
        if (row.route === 'GET /kill-switches' && res.status === 200) {
          if (res.body.canManage !== (user === 'bob')) {
            failures.push(
              `GET /kill-switches as ${user}: canManage ${res.body.canManage}`,
            );
          }
        }
        if (row.route === 'GET /executions' && res.status === 200) {
          const ids = res.body.items.map((e: { id: string }) => e.id);
          // mallory owns nothing and requested nothing: she sees no execution
          if (user === 'mallory' && ids.length !== 0) {
            failures.push(`GET /executions as mallory listed ${ids.length}`);
          }
          if (user !== 'mallory' && !(ids.includes(W) && ids.includes(D))) {
            failures.push(`GET /executions as ${user} misses W or D`);
          }
        }
      }
    }
    expect(failures).toEqual([]);

    // bob's approval let W go on
    await settled(W, 'succeeded');
    // alice may run on checkout, which her team owns, and the list says so
    const own = await api('alice').get(
      '/entities/component/default/checkout/runbooks',
    );
    expect(own.body.canExecute).toBe(true);
    const others = await api('bob').get(
      '/entities/component/default/checkout/runbooks',
    );
    expect(others.body.canExecute).toBe(false);
    await backend.stop();
  });
});
