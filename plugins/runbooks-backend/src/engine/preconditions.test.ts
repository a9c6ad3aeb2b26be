import { failedPrecondition } from './preconditions';

const vars = (output: unknown, parameters: Record<string, unknown> = {}) => ({
  parameters,
  entity: { metadata: { name: 'checkout' } },
  steps: { current: { output } },
});

describe('failedPrecondition', () => {
  it('passes when every precondition holds', () => {
    expect(
      failedPrecondition(
        [
          'steps.current.output.replicas > 0',
          {
            expression: 'steps.current.output.replicas != parameters.replicas',
          },
        ],
        vars({ replicas: 2 }, { replicas: 4 }),
      ),
    ).toBeUndefined();
  });

  it('names the expression, the values it saw and where they come from', () => {
    expect(
      failedPrecondition(
        [
          'steps.current.output.replicas > 0',
          {
            expression: 'steps.current.output.replicas != parameters.replicas',
            message: 'The deployment already runs that many replicas.',
          },
        ],
        vars({ replicas: 4 }, { replicas: 4 }),
      ),
    ).toBe(
      "Precondition failed: The deployment already runs that many replicas. (`steps.current.output.replicas != parameters.replicas` is false). It saw steps.current.output.replicas = 4, parameters.replicas = 4; it depends on the state read by step 'current' (the system now) and the parameter 'replicas' (from the request). Nothing was changed.",
    );
  });

  it('calls a missing value drift, naming the step whose output lacks it', () => {
    const message = failedPrecondition(
      [
        {
          expression: 'steps.current.output.replicas > 0',
          message: 'The deployment is scaled to zero.',
        },
      ],
      vars({ spec: { replicas: 3 } }),
    );
    expect(message).toMatch(
      /^Precondition `steps.current.output.replicas > 0` could not be evaluated \(.+\)\. It saw steps.current.output.replicas is missing; steps.current.output.replicas is not there: the state read by step 'current' \(the system now\) does not have what the runbook expects \(the runbook and the system have drifted apart\)\. Nothing was changed\.$/,
    );
  });

  it('shortens long values', () => {
    const message = failedPrecondition(
      ['size(steps.current.output.items) == 0'],
      vars({ items: Array.from({ length: 100 }, (_, i) => `pod-${i}`) }),
    )!;
    expect(message).toContain('steps.current.output.items = ["pod-0",');
    expect(message).toContain('…');
    expect(message.length).toBeLessThan(600);
  });
});
