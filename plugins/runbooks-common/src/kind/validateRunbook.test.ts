import { validateRunbookEntity } from './validateRunbook';

const valid = () => ({
  apiVersion: 'runbooks.backstage.io/v1alpha1',
  kind: 'Runbook',
  metadata: { name: 'scale' },
  spec: {
    owner: 'group:default/sre',
    parameters: { replicas: { type: 'integer', minimum: 1 } },
    preconditions: ['parameters.replicas > 0'],
    steps: [
      {
        id: 'read',
        tool: 'kubernetes/get-deployment',
        mutates: false,
        input: {},
      },
      {
        id: 'scale',
        tool: 'kubernetes/scale',
        mutates: true,
        dryRun: true,
        input: {
          replicas: '${{ parameters.replicas }}',
          before: '${{ steps.read.output.replicas }}',
        },
        verify: [
          {
            expression: 'output.replicas == parameters.replicas',
            message: 'not scaled',
          },
        ],
      },
    ],
  },
});

describe('validateRunbookEntity', () => {
  it('accepts a valid runbook and applies step defaults', () => {
    const result = validateRunbookEntity(valid());
    expect(result).toMatchObject({
      ok: true,
      issues: [],
      runbook: {
        spec: {
          steps: [
            {},
            { idempotent: false, approval: 'auto', onFailure: 'abort' },
          ],
        },
      },
    });
  });

  it('names the field of every problem', () => {
    const runbook: any = valid();
    runbook.spec.steps[1].mutates = 'yes';
    runbook.spec.steps[0].shell = 'rm -rf /';
    const result = validateRunbookEntity(runbook);
    expect(result.ok).toBe(false);
    expect(result.issues.map(i => i.message)).toEqual([
      "spec.steps[0].shell: unknown field 'shell'",
      'spec.steps[1].mutates: must be true or false',
    ]);
    expect(result.issues[0]).toMatchObject({
      path: ['spec', 'steps', 0, 'shell'],
      atKey: true,
    });
  });

  it('reports every semantic problem at once', () => {
    const runbook: any = valid();
    runbook.spec.steps.push({
      id: 'read',
      tool: 'kubernetes/delete-pod',
      mutates: true,
      input: { pod: '${{ parameters.pod }}' },
      verify: ['output.ok =='],
    });
    const result = validateRunbookEntity(runbook);
    expect(result.issues.map(i => i.message)).toEqual([
      "spec.steps[2].id: duplicate step id 'read' (already used by spec.steps[0])",
      "spec.steps[2].mutates: step 'read' mutates but declares no dry-run; set dryRun: true (its tool must support dryRun) — no change runs without a dry-run",
      "spec.steps[2].input.pod: unknown parameter 'pod' in ${{ parameters.pod }}; declared parameters: replicas",
      expect.stringMatching(
        /^spec\.steps\[2\]\.verify\[0\]: invalid CEL expression 'output\.ok =='/,
      ),
    ]);
  });

  it('rejects a runbook with no steps or no owner', () => {
    const runbook: any = valid();
    delete runbook.spec.owner;
    runbook.spec.steps = [];
    expect(validateRunbookEntity(runbook).issues.map(i => i.message)).toEqual([
      'spec.owner is required',
      'spec.steps: a runbook needs at least one step',
    ]);
  });

  it('accepts blast-radius actions per level and rejects unknown levels and actions', () => {
    const runbook: any = valid();
    runbook.spec.blastRadius = {
      actions: { medium: 'two-approvals', critical: 'refuse' },
    };
    expect(validateRunbookEntity(runbook)).toMatchObject({
      ok: true,
      runbook: {
        spec: {
          blastRadius: {
            actions: { medium: 'two-approvals', critical: 'refuse' },
          },
        },
      },
    });

    runbook.spec.blastRadius = {
      actions: { high: 'yolo', severe: 'refuse' },
      thresholds: {},
    };
    expect(validateRunbookEntity(runbook).issues.map(i => i.message)).toEqual([
      `spec.blastRadius.actions.high: must be 'run', 'approve', 'two-approvals' or 'refuse', not "yolo"`,
      "spec.blastRadius.actions.severe: unknown field 'severe'",
      "spec.blastRadius.thresholds: unknown field 'thresholds'",
    ]);
  });
});
