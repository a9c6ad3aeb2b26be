import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  RunbookEntityV1alpha1,
  RunbookStep,
} from '@runbooks/plugin-runbooks-common';
import { Execution } from '../engine/types';
import { demoCatalogEntities } from './__testUtils__/demoCatalog';
import { CatalogTopology } from './CatalogTopology';
import { defaultBlastRadiusPolicy } from './config';
import { TopologyBlastRadius } from './TopologyBlastRadius';

const step: RunbookStep = {
  id: 'purge',
  tool: 'ansible/purge-queue',
  input: {},
  mutates: true,
  dryRun: true,
  idempotent: true,
  approval: 'auto',
  onFailure: 'abort',
};

function execution(blastRadius?: unknown): Execution {
  return {
    entityRef: 'resource:default/orders-queue',
    runbookContent: {
      apiVersion: 'runbooks.backstage.io/v1alpha1',
      kind: 'Runbook',
      metadata: { name: 'purge-dead-letter-queue' },
      spec: { owner: 'group:default/sre', steps: [step], blastRadius },
    },
  } as Partial<Execution> as Execution;
}

describe('TopologyBlastRadius', () => {
  const hook = new TopologyBlastRadius({
    topology: new CatalogTopology({
      catalog: catalogServiceMock({ entities: demoCatalogEntities() }),
      auth: mockServices.auth(),
    }),
    policy: defaultBlastRadiusPolicy,
  });
  const context = (blastRadius?: unknown) => ({
    execution: execution(blastRadius),
    step,
    stepIndex: 0,
    plan: {
      changes: [{ action: 'delete', host: 'rabbitmq-1' }],
      objectCount: 1,
    },
    planDigest: 'sha256:0',
  });

  it('assumes at least high when the catalog cannot be read, under the same policy', async () => {
    const blind = new TopologyBlastRadius({
      topology: {
        affected: async () => {
          throw new Error('catalog unavailable');
        },
      },
      policy: defaultBlastRadiusPolicy,
    });
    const result = await blind.assess(context());
    expect(result).toMatchObject({
      level: 'high',
      action: 'two-approvals',
      approvalsRequired: 2,
      affected: [],
    });
    expect(result.reasons).toContain(
      'The catalog graph could not be read (catalog unavailable), so the level is at least high.',
    );
    // a plan big enough to be refused is still refused
    const big = await blind.assess({
      ...context(),
      plan: { changes: [], objectCount: 500 },
    });
    expect(big).toMatchObject({ level: 'critical', action: 'refuse' });
  });

  it('assesses a change to the orders queue from the demo catalog', async () => {
    const result = await hook.assess(context());
    expect(result).toMatchObject({
      level: 'high',
      action: 'two-approvals',
      approvalsRequired: 2,
      ownerApprovalFrom: [
        'group:default/team-checkout',
        'group:default/team-payments',
      ],
      target: {
        entityRef: 'resource:default/orders-queue',
        owner: 'group:default/team-checkout',
      },
      measures: { dependents: 4, objects: 1, hosts: 1 },
    });
    expect(result.affected.map(e => e.entityRef)).toEqual([
      'component:default/checkout',
      'component:default/notifications',
      'component:default/order-worker',
      'component:default/storefront',
    ]);
  });

  it("applies the runbook's stricter actions", async () => {
    const result = await hook.assess(context({ actions: { high: 'refuse' } }));
    expect(result).toMatchObject({
      level: 'high',
      action: 'refuse',
      approvalsRequired: 0,
    });
  });
});

describe('TopologyBlastRadius.preview', () => {
  const runbook = (
    name: string,
    steps: RunbookStep[],
    blastRadius?: RunbookEntityV1alpha1['spec']['blastRadius'],
  ) =>
    ({
      apiVersion: 'runbooks.backstage.io/v1alpha1',
      kind: 'Runbook',
      metadata: { name },
      spec: { owner: 'group:default/sre', steps, blastRadius },
    } as RunbookEntityV1alpha1);
  const read: RunbookStep = { ...step, id: 'read', mutates: false };
  const setup = () => {
    const topology = new CatalogTopology({
      catalog: catalogServiceMock({ entities: demoCatalogEntities() }),
      auth: mockServices.auth(),
    });
    const walks = jest.spyOn(topology, 'affected');
    const hook = new TopologyBlastRadius({
      topology,
      policy: defaultBlastRadiusPolicy,
    });
    return { hook, walks };
  };

  it('previews the strictest mutating step of each runbook, from one walk of the graph', async () => {
    const { hook, walks } = setup();
    const previews = await hook.preview('component:default/storefront', [
      // nothing depends on storefront: low, which runs, but its second step always asks
      runbook('restart', [
        read,
        step,
        { ...step, id: 'confirm', approval: 'always' },
      ]),
      runbook('look', [read]),
      runbook('stricter', [step], { actions: { low: 'approve' } }),
    ]);
    expect(walks).toHaveBeenCalledTimes(1);
    expect([...previews.keys()]).toEqual([
      'runbook:default/restart',
      'runbook:default/stricter',
    ]);
    expect(previews.get('runbook:default/restart')).toMatchObject({
      level: 'low',
      action: 'approve',
      approvalsRequired: 1,
      affected: [],
      measures: { dependents: 0, objects: 1, hosts: 0 },
    });
    expect(previews.get('runbook:default/restart')!.reasons).toContain(
      'The step says approval: always, so it needs approval.',
    );
    expect(previews.get('runbook:default/stricter')).toMatchObject({
      level: 'low',
      action: 'approve',
    });
  });

  it('walks the catalog as the reader, who sees only the entities they may read', async () => {
    const { hook, walks } = setup();
    const credentials = mockCredentials.user('user:default/contractor');
    await hook.preview(
      'component:default/storefront',
      [runbook('restart', [step])],
      credentials,
    );
    expect(walks).toHaveBeenCalledWith('component:default/storefront', {
      credentials,
    });
  });

  it('previews the reach of a change to the orders queue, without hosts', async () => {
    const { hook } = setup();
    const previews = await hook.preview('resource:default/orders-queue', [
      runbook('purge', [step]),
    ]);
    const preview = previews.get('runbook:default/purge')!;
    expect(preview).toMatchObject({
      level: 'high',
      action: 'two-approvals',
      measures: { dependents: 4, objects: 1, hosts: 0 },
    });
    expect(preview.affected.map(e => e.entityRef)).toEqual([
      'component:default/checkout',
      'component:default/notifications',
      'component:default/order-worker',
      'component:default/storefront',
    ]);
  });

  it('walks nothing for read-only runbooks, and rejects when the graph cannot be read', async () => {
    const { hook, walks } = setup();
    expect(
      await hook.preview('component:default/storefront', [
        runbook('look', [read]),
      ]),
    ).toEqual(new Map());
    expect(walks).not.toHaveBeenCalled();
    await expect(
      hook.preview('component:default/gone', [runbook('restart', [step])]),
    ).rejects.toThrow('Entity component:default/gone is not in the catalog');
  });
});
