import { mockServices } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { RunbookStep } from '@runbooks/plugin-runbooks-common';
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
