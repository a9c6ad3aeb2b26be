import { mockServices } from '@backstage/backend-test-utils';
import { defaultBlastRadiusPolicy, readBlastRadiusPolicy } from './config';

// any: the cases hold deliberately invalid values
const read = (runbooks: Record<string, any> | undefined) =>
  readBlastRadiusPolicy(
    mockServices.rootConfig({ data: runbooks ? { runbooks } : {} }),
  );

describe('readBlastRadiusPolicy', () => {
  it('gives the defaults when nothing is configured', () => {
    expect(read(undefined)).toEqual({
      thresholds: {
        medium: { dependents: 1, objects: 5, hosts: 2 },
        high: { dependents: 3, objects: 20, hosts: 5 },
        critical: { dependents: 20, objects: 100, hosts: 20 },
      },
      actions: {
        low: 'run',
        medium: 'approve',
        high: 'two-approvals',
        critical: 'refuse',
      },
      ignoreLifecycles: ['experimental'],
      criticalTiers: ['1', 'tier-1', 'critical'],
      minApprovers: 1,
    });
  });

  it('reads every key on top of the defaults', () => {
    expect(
      read({
        blastRadius: {
          thresholds: { high: { dependents: 4 }, critical: { hosts: 50 } },
          actions: { medium: 'two-approvals', critical: 'two-approvals' },
          ignoreLifecycles: ['experimental', 'deprecated'],
          criticalTiers: ['gold'],
        },
        approvals: { minApprovers: 2 },
      }),
    ).toEqual({
      thresholds: {
        medium: { dependents: 1, objects: 5, hosts: 2 },
        high: { dependents: 4, objects: 20, hosts: 5 },
        critical: { dependents: 20, objects: 100, hosts: 50 },
      },
      actions: {
        low: 'run',
        medium: 'two-approvals',
        high: 'two-approvals',
        critical: 'two-approvals',
      },
      ignoreLifecycles: ['experimental', 'deprecated'],
      criticalTiers: ['gold'],
      minApprovers: 2,
    });
    // reading does not change the defaults
    expect(defaultBlastRadiusPolicy.thresholds.high.dependents).toBe(3);
  });

  it.each([
    [
      { blastRadius: { thresholds: { low: { objects: 1 } } } },
      "Invalid config at runbooks.blastRadius.thresholds.low: unknown level 'low'; levels with thresholds are 'medium', 'high', 'critical' (low is below medium)",
    ],
    [
      { blastRadius: { thresholds: { high: { dependent: 4 } } } },
      "Invalid config at runbooks.blastRadius.thresholds.high.dependent: unknown measure 'dependent'; measures are 'dependents', 'objects', 'hosts'",
    ],
    [
      { blastRadius: { thresholds: { medium: { objects: 0 } } } },
      'Invalid config at runbooks.blastRadius.thresholds.medium.objects: must be a whole number of at least 1, not 0',
    ],
    [
      { blastRadius: { thresholds: { high: { dependents: 1 } } } },
      'Invalid config at runbooks.blastRadius.thresholds.high.dependents: thresholds must increase from medium to critical, but high (1) is not above medium (1)',
    ],
    [
      { blastRadius: { thresholds: { critical: { objects: 10 } } } },
      'Invalid config at runbooks.blastRadius.thresholds.critical.objects: thresholds must increase from medium to critical, but critical (10) is not above high (20)',
    ],
    [
      { blastRadius: { actions: { severe: 'refuse' } } },
      "Invalid config at runbooks.blastRadius.actions.severe: unknown level 'severe'; levels are 'low', 'medium', 'high', 'critical'",
    ],
    [
      { blastRadius: { actions: { high: 'three-approvals' } } },
      "Invalid config at runbooks.blastRadius.actions.high: unknown action 'three-approvals'; actions are 'run', 'approve', 'two-approvals', 'refuse'",
    ],
    [
      { approvals: { minApprovers: 0 } },
      'Invalid config at runbooks.approvals.minApprovers: must be a whole number of at least 1, not 0',
    ],
  ])('rejects %j', (runbooks, message) => {
    expect(() => read(runbooks)).toThrow(message);
  });
});
