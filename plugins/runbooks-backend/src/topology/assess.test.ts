import { AffectedEntity, RunbookStep } from '@runbooks/plugin-runbooks-common';
import { ToolPlan } from '@runbooks/plugin-runbooks-node';
import { assessBlastRadius, BlastRadiusInput } from './assess';
import { BlastRadiusPolicy, defaultBlastRadiusPolicy } from './config';

const step = (approval: RunbookStep['approval'] = 'auto'): RunbookStep => ({
  id: 'apply',
  tool: 'kubernetes/scale',
  input: {},
  mutates: true,
  dryRun: true,
  idempotent: true,
  approval,
  onFailure: 'abort',
});

const plan = (objectCount = 1, extra: Partial<ToolPlan> = {}): ToolPlan => ({
  changes: [],
  objectCount,
  ...extra,
});

const entity = (
  name: string,
  extra: Partial<AffectedEntity> = {},
): AffectedEntity => ({
  entityRef: `component:default/${name}`,
  kind: 'Component',
  owner: 'group:default/team-checkout',
  lifecycle: 'production',
  depth: 1,
  via: 'dependencyOf',
  counted: true,
  ...extra,
});

// what a change to orders-queue reaches in the demo catalog
const ordersQueueDependents = [
  entity('checkout'),
  entity('notifications', { owner: 'group:default/team-payments' }),
  entity('order-worker'),
  entity('storefront', { depth: 2 }),
];

const policy = (over: Partial<BlastRadiusPolicy> = {}): BlastRadiusPolicy => ({
  ...defaultBlastRadiusPolicy,
  ...over,
});

const assess = (over: Partial<BlastRadiusInput> = {}) =>
  assessBlastRadius({
    target: { entityRef: 'resource:default/orders-queue' },
    affected: [],
    truncated: false,
    plan: plan(),
    step: step(),
    policy: policy(),
    ...over,
  });

describe('assessBlastRadius', () => {
  it('lets a change that reaches nothing run, and says why', () => {
    expect(assess()).toEqual({
      level: 'low',
      action: 'run',
      approvalsRequired: 0,
      ownerApprovalFrom: [],
      target: { entityRef: 'resource:default/orders-queue' },
      affected: [],
      measures: { dependents: 0, objects: 1, hosts: 0 },
      reasons: [
        'No measure reaches a medium threshold: 0 dependents (< 1), 1 object (< 5), 0 hosts (< 2).',
        'The blast-radius policy requires run at level low.',
      ],
    });
  });

  it.each([
    [4, 'low', 'run', 0],
    [5, 'medium', 'approve', 1],
    [19, 'medium', 'approve', 1],
    [20, 'high', 'two-approvals', 2],
    [100, 'critical', 'refuse', 0],
  ])(
    'maps %i changed objects to %s: %s with %i approvals',
    (objects, level, action, approvals) => {
      const result = assess({ plan: plan(objects) });
      expect(result).toMatchObject({
        level,
        action,
        approvalsRequired: approvals,
        measures: { objects },
      });
    },
  );

  it('names the dependents that make the level', () => {
    const medium = assess({ affected: [entity('storefront')] });
    expect(medium).toMatchObject({ level: 'medium', action: 'approve' });
    expect(medium.reasons).toEqual([
      '1 dependent (storefront) ≥ medium threshold 1.',
      'The blast-radius policy requires approve at level medium.',
    ]);

    const high = assess({ affected: ordersQueueDependents });
    expect(high).toMatchObject({
      level: 'high',
      action: 'two-approvals',
      approvalsRequired: 2,
      ownerApprovalFrom: [
        'group:default/team-checkout',
        'group:default/team-payments',
      ],
      measures: { dependents: 4, objects: 1, hosts: 0 },
    });
    expect(high.reasons).toEqual([
      '4 dependents (checkout, notifications, order-worker, storefront) ≥ high threshold 3.',
      'The blast-radius policy requires two-approvals at level high.',
      'One approver must be a member of an owner of an affected entity: group:default/team-checkout, group:default/team-payments.',
    ]);
  });

  it('names every measure that reaches the level', () => {
    const result = assess({
      affected: ordersQueueDependents,
      plan: plan(25),
    });
    expect(result.level).toBe('high');
    expect(result.reasons.slice(0, 2)).toEqual([
      '4 dependents (checkout, notifications, order-worker, storefront) ≥ high threshold 3.',
      '25 objects ≥ high threshold 20.',
    ]);
  });

  it('counts distinct hosts of the changes and of the plan', () => {
    const changes = [
      { action: 'update', host: 'a' },
      { action: 'update', host: 'a' },
      { action: 'update', host: 'b' },
    ];
    const two = assess({ plan: plan(2, { changes }) });
    expect(two).toMatchObject({
      level: 'medium',
      measures: { hosts: 2 },
      reasons: ['2 hosts (a, b) ≥ medium threshold 2.', expect.any(String)],
    });
    const three = assess({
      plan: plan(2, { changes, hosts: ['b', 'c', 7] }),
    });
    expect(three.measures.hosts).toBe(3);
  });

  it('accepts a stricter action from the runbook', () => {
    const result = assess({
      affected: [entity('storefront')],
      runbookPolicy: { medium: 'two-approvals', high: 'refuse' },
    });
    expect(result).toMatchObject({
      level: 'medium',
      action: 'two-approvals',
      approvalsRequired: 2,
      ownerApprovalFrom: ['group:default/team-checkout'],
    });
    expect(result.reasons).toContain(
      "The runbook requires two-approvals at level medium, stricter than the policy's approve.",
    );
  });

  it('ignores a looser action from the runbook and says so', () => {
    const result = assess({
      affected: ordersQueueDependents,
      runbookPolicy: { high: 'run' },
    });
    expect(result).toMatchObject({
      level: 'high',
      action: 'two-approvals',
      approvalsRequired: 2,
    });
    expect(result.reasons).toContain(
      "The runbook asks for run at level high, looser than the policy's two-approvals; a runbook can only make the policy stricter, so it is ignored.",
    );
  });

  it('needs at least one approval for a step that says approval: always', () => {
    const low = assess({ step: step('always') });
    expect(low).toMatchObject({
      level: 'low',
      action: 'approve',
      approvalsRequired: 1,
    });
    expect(low.reasons).toContain(
      'The step says approval: always, so it needs approval.',
    );
    const high = assess({
      step: step('always'),
      affected: ordersQueueDependents,
    });
    expect(high).toMatchObject({
      action: 'two-approvals',
      approvalsRequired: 2,
    });
    const refused = assess({ step: step('always'), plan: plan(500) });
    expect(refused).toMatchObject({ action: 'refuse', approvalsRequired: 0 });
  });

  it('raises the approvals of any approving action to minApprovers', () => {
    const strict = policy({ minApprovers: 3 });
    expect(assess({ policy: strict })).toMatchObject({
      action: 'run',
      approvalsRequired: 0,
    });
    const medium = assess({ policy: strict, affected: [entity('storefront')] });
    expect(medium).toMatchObject({ action: 'approve', approvalsRequired: 3 });
    expect(medium.reasons).toContain(
      'runbooks.approvals.minApprovers raises the approvals needed from 1 to 3.',
    );
    expect(
      assess({ policy: strict, affected: ordersQueueDependents }),
    ).toMatchObject({ action: 'two-approvals', approvalsRequired: 3 });
    // a minimum below what the action needs changes nothing
    expect(
      assess({
        policy: policy({ minApprovers: 1 }),
        affected: ordersQueueDependents,
      }).approvalsRequired,
    ).toBe(2);
  });

  it('asks owners only for two approvals, and says when no owner is known', () => {
    expect(
      assess({ affected: [entity('storefront')] }).ownerApprovalFrom,
    ).toEqual([]);
    const ownerless = assess({
      affected: ordersQueueDependents.map(e => ({ ...e, owner: undefined })),
    });
    expect(ownerless).toMatchObject({
      action: 'two-approvals',
      ownerApprovalFrom: [],
    });
    expect(ownerless.reasons).toContain(
      'No counted affected entity has an owner, so the owner-approval requirement cannot apply.',
    );
  });

  it('does not count entities of an ignored lifecycle', () => {
    const result = assess({
      affected: [
        entity('checkout'),
        entity('notifications', {
          lifecycle: 'experimental',
          owner: 'group:default/team-payments',
          tier: '1',
        }),
        entity('order-worker'),
      ],
    });
    expect(result).toMatchObject({
      level: 'medium',
      action: 'approve',
      measures: { dependents: 2 },
    });
    expect(result.affected.map(e => e.counted)).toEqual([true, false, true]);
    expect(result.reasons).toContain(
      'Not counted, because of their lifecycle (experimental): notifications.',
    );

    // the same with the lifecycle counted: three dependents reach high
    const counted = assess({
      affected: result.affected,
      policy: policy({ ignoreLifecycles: [] }),
    });
    expect(counted).toMatchObject({
      level: 'high',
      measures: { dependents: 3 },
      ownerApprovalFrom: [
        'group:default/team-checkout',
        'group:default/team-payments',
      ],
    });
  });

  it('makes a change that reaches a critical tier at least high', () => {
    const result = assess({
      affected: [entity('storefront', { tier: 'tier-1' })],
    });
    expect(result).toMatchObject({ level: 'high', action: 'two-approvals' });
    expect(result.reasons).toContain(
      'storefront (tier tier-1) is of a critical tier, so the level is at least high.',
    );
    expect(
      assess({ affected: [entity('storefront', { tier: '2' })] }).level,
    ).toBe('medium');
  });

  it('makes a truncated graph walk at least high', () => {
    const result = assess({
      affected: [entity('storefront')],
      truncated: true,
    });
    expect(result).toMatchObject({ level: 'high', truncated: true });
    expect(result.reasons).toContain(
      'The catalog graph walk stopped at its limit and more entities may be affected, so the level is at least high.',
    );
    expect(assess({ plan: plan(100), truncated: true }).level).toBe('critical');
  });

  it('uses the configured actions per level', () => {
    const result = assess({
      affected: [entity('storefront')],
      policy: policy({
        actions: { ...defaultBlastRadiusPolicy.actions, medium: 'run' },
      }),
    });
    expect(result).toMatchObject({
      level: 'medium',
      action: 'run',
      approvalsRequired: 0,
    });
  });
});
