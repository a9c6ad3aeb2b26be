import {
  BackstageCredentials,
  BackstageUserPrincipal,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { actionsRegistryServiceMock } from '@backstage/backend-test-utils/alpha';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  AuthorizeResult,
  isPermission,
} from '@backstage/plugin-permission-common';
import {
  executionReadPermission,
  runbookExecutePermission,
} from '@runbooks/plugin-runbooks-common';
import {
  InProcessToolInvoker,
  planDigest,
} from '@runbooks/plugin-runbooks-node';
import {
  checkoutEntity,
  replicaTools,
  runbookEntity,
  scaleRunbookEntity,
} from '../__testUtils__/fixtures';
import {
  engineManager,
  startEngineWorker,
  waitForExecution,
} from '../__testUtils__/engine';
import {
  AgentService,
  AgentSettings,
  AgentStore,
  OfflinePlanner,
  TemplateSummariser,
} from '../agent';
import { ExecutionEvents, ExecutionStore, ExecutionWorker } from '../engine';
import {
  createRunbookExecutionConditionalDecision,
  runbookExecutionConditions,
  runbookExecutionRules,
  RunbooksAuthorizer,
} from '../permissions';
import { RunbookCatalog } from '../runbook';
import { registerRunbooksActions } from './registerActions';

jest.setTimeout(30_000);

const SECRET = 's3cr3t-token-value';

const alice = mockCredentials.user('user:default/alice');
const bob = mockCredentials.user('user:default/bob');

const withSecret = runbookEntity('read-with-token', {
  parameters: { token: { type: 'string', secret: true, minLength: 8 } },
  steps: [
    {
      id: 'read',
      tool: 'k8s/get',
      mutates: false,
      input: { header: 'Bearer ${{ parameters.token }}' },
    },
  ],
});
const elsewhere = runbookEntity('payments-only', {
  appliesTo: { entities: ['component:default/payments'] },
  steps: [{ id: 'read', tool: 'k8s/get', mutates: false }],
});

const userRef = (credentials: BackstageCredentials) =>
  (credentials.principal as BackstageUserPrincipal).userEntityRef;

/** Alice may run runbooks on checkout and bob may not; each reads only the executions they asked for. */
const permissions = mockServices.permissions.mock({
  authorize: (async (requests: any[], { credentials }: any) =>
    requests.map(r => ({
      result:
        isPermission(r.permission, runbookExecutePermission) &&
        userRef(credentials) === 'user:default/alice'
          ? AuthorizeResult.ALLOW
          : AuthorizeResult.DENY,
    }))) as any,
  authorizeConditional: (async (requests: any[], { credentials }: any) =>
    requests.map(() =>
      createRunbookExecutionConditionalDecision(
        executionReadPermission,
        runbookExecutionConditions.isRequester({
          claims: [userRef(credentials)],
        }),
      ),
    )) as any,
});

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

describe('the runbooks actions', () => {
  const state = { replicas: 2 };
  const invoker = new InProcessToolInvoker(
    {
      ...replicaTools(state),
      'k8s/get': {
        description: { annotations: { readOnlyHint: true } },
        run: input => {
          throw new Error(`the API refused ${JSON.stringify(input)}`);
        },
      },
    },
    planDigest,
  );
  let store: ExecutionStore;
  let runbookCatalog: RunbookCatalog;
  let worker: ExecutionWorker;
  let setup: (mode: AgentSettings['mode']) => {
    invoke: (
      name: string,
      input: Record<string, any>,
      credentials?: BackstageCredentials,
    ) => Promise<any>;
    registry: ReturnType<typeof actionsRegistryServiceMock>;
  };

  beforeAll(async () => {
    const knex = await databases.init('SQLITE_3');
    const database = mockServices.database({ knex });
    const logger = mockServices.logger.mock();
    store = await ExecutionStore.create({ database });
    const events = new ExecutionEvents(store);
    const manager = engineManager({ store, events }, () => worker.wake());
    worker = startEngineWorker({
      store,
      events,
      tools: invoker,
      workerId: 'w1',
      settings: {
        concurrency: 2,
        leaseMs: 5000,
        heartbeatMs: 1000,
        pollMs: 50,
        watchMs: 50,
      },
    });
    const agentStore = await AgentStore.create({ database });
    runbookCatalog = new RunbookCatalog(
      catalogServiceMock({
        entities: [checkoutEntity, scaleRunbookEntity(), withSecret, elsewhere],
      }),
      logger,
      invoker,
    );
    const authorizer = new RunbooksAuthorizer(permissions, {
      getRuleByName: name =>
        Object.values(runbookExecutionRules).find(r => r.name === name)!,
    });
    setup = mode => {
      const registry = actionsRegistryServiceMock();
      registerRunbooksActions({
        actionsRegistry: registry,
        runbookCatalog,
        agent: new AgentService({
          runbookCatalog,
          store,
          agentStore,
          manager,
          events,
          authorizer,
          planner: new OfflinePlanner(),
          summariser: new TemplateSummariser(),
          logger,
          settings: {
            mode,
            maxProposals: 1,
            historyLimit: 10,
            planTimeoutMs: 5000,
          },
        }),
        store,
        authorizer,
        userInfo: mockServices.userInfo(),
      });
      return {
        registry,
        invoke: async (name, input, credentials = alice) =>
          (
            await registry.invoke({
              id: `test:${name}`,
              input,
              credentials,
            })
          ).output,
      };
    };
  });
  afterAll(() => worker.stop());

  const executionCount = async () =>
    (await store.listExecutions({})).items.length;

  it('registers three actions, only one of which changes anything', async () => {
    const { registry } = setup('suggest');
    const { actions } = await registry.list();
    expect(
      Object.fromEntries(actions.map(a => [a.name, a.attributes])),
    ).toEqual({
      'list-runbooks-for-entity': {
        readOnly: true,
        idempotent: true,
        destructive: false,
      },
      'propose-runbook-execution': {
        readOnly: false,
        idempotent: false,
        destructive: false,
      },
      'get-execution-status': {
        readOnly: true,
        idempotent: true,
        destructive: false,
      },
    });
    const propose = actions.find(a => a.name === 'propose-runbook-execution')!;
    expect(Object.keys(propose.schema.input.properties ?? {}).sort()).toEqual([
      'entityRef',
      'parameters',
      'rationale',
      'runbookRef',
    ]);
  });

  it('lists the runbooks that apply to an entity, with their parameters schema and whether the caller may run them', async () => {
    const { invoke } = setup('suggest');
    const output = await invoke('list-runbooks-for-entity', {
      entityRef: 'component:default/checkout',
    });
    expect(output).toMatchObject({
      entityRef: 'component:default/checkout',
      canExecute: true,
    });
    expect(output.runbooks.map((r: any) => r.ref)).toEqual([
      'runbook:default/read-with-token',
      'runbook:default/scale',
    ]);
    expect(output.runbooks[1]).toEqual({
      ref: 'runbook:default/scale',
      title: 'scale',
      parametersSchema: expect.objectContaining({
        properties: {
          replicas: expect.objectContaining({
            type: 'integer',
            minimum: 1,
            maximum: 20,
          }),
        },
      }),
      mutatingSteps: 1,
      approval: 'blast-radius',
      toolProblems: 0,
    });

    const forBob = await invoke(
      'list-runbooks-for-entity',
      { entityRef: 'checkout' },
      bob,
    );
    expect(forBob.canExecute).toBe(false);
    await expect(
      invoke('list-runbooks-for-entity', { entityRef: 'component:nope' }),
    ).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('refuses a proposal whose parameters are outside the schema, and runs nothing', async () => {
    const { invoke } = setup('suggest');
    const output = await invoke('propose-runbook-execution', {
      entityRef: 'component:default/checkout',
      runbookRef: 'runbook:default/scale',
      parameters: { replicas: 50 },
      rationale: 'more traffic',
    });
    expect(output).toMatchObject({
      status: 'refused',
      refusal: expect.stringContaining('replicas'),
    });
    expect(output.executionId).toBeUndefined();
    expect(output.message).toContain('Nothing has run');
    expect(await executionCount()).toBe(0);
  });

  it('records a valid proposal as pending for a person, even when asked to execute, and runs nothing', async () => {
    const { invoke } = setup('suggest');
    const output = await invoke('propose-runbook-execution', {
      entityRef: 'component:default/checkout',
      runbookRef: 'scale',
      parameters: { replicas: 3 },
      rationale: 'p99 latency is climbing',
      mode: 'execute',
    });
    expect(output).toEqual({
      proposalId: expect.any(String),
      status: 'pending',
      message: expect.stringContaining('a person who may run runbooks there'),
    });
    expect(await executionCount()).toBe(0);
    expect(state.replicas).toBe(2);
  });

  it('starts a valid proposal as a dry-run at most, when the agent is set to', async () => {
    const { invoke } = setup('dry-run');
    const output = await invoke('propose-runbook-execution', {
      entityRef: 'component:default/checkout',
      runbookRef: 'runbook:default/scale',
      parameters: { replicas: 4 },
      rationale: 'see what scaling would change',
    });
    expect(output).toMatchObject({
      status: 'started',
      executionId: expect.any(String),
    });
    expect(output.message).toContain('dry-run');
    const execution = await waitForExecution(store, output.executionId, [
      'succeeded',
      'failed',
    ]);
    expect(execution.mode).toBe('dry-run');
    expect(state.replicas).toBe(2);

    const status = await invoke('get-execution-status', {
      executionId: output.executionId,
    });
    expect(status).toMatchObject({
      mode: 'dry-run',
      requester: userRef(alice),
    });
  });

  it("reports an execution's status with secret values masked, and only to someone who may read it", async () => {
    const { invoke } = setup('suggest');
    const resolved = await runbookCatalog.resolveRequest(
      {
        runbookRef: 'runbook:default/read-with-token',
        entityRef: 'component:default/checkout',
        parameters: { token: SECRET },
      },
      alice,
    );
    const manager = engineManager(
      { store, events: new ExecutionEvents(store) },
      () => worker.wake(),
    );
    const created = await manager.create({
      ...resolved,
      requester: 'user:default/alice',
      mode: 'execute',
    });
    const failed = await waitForExecution(store, created.id, ['failed']);
    expect(failed.parameters).toEqual({ token: SECRET });

    const output = await invoke('get-execution-status', {
      executionId: created.id,
    });
    expect(output).toMatchObject({
      executionId: created.id,
      status: 'failed',
      runbookRef: 'runbook:default/read-with-token',
      entityRef: 'component:default/checkout',
      mode: 'execute',
      parameters: { token: '***' },
      requester: 'user:default/alice',
      steps: [
        {
          id: 'read',
          status: 'failed',
          error: expect.stringContaining('Bearer ***'),
        },
      ],
    });
    expect(output.summary).toEqual(expect.any(String));
    expect(JSON.stringify(output)).not.toContain(SECRET);

    await expect(
      invoke('get-execution-status', { executionId: created.id }, bob),
    ).rejects.toMatchObject({ name: 'NotAllowedError' });
    await expect(
      invoke('get-execution-status', { executionId: 'no-such-execution' }),
    ).rejects.toMatchObject({ name: 'NotFoundError' });
  });
});
