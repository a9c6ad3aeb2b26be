import {
  Execution,
  maskedParameters,
  maskSecrets,
  secretValues,
  StepRun,
} from '../engine';

/** An execution as the API shows it: values of secret parameters replaced by `***`. */
export function redactExecution(execution: Execution): Execution {
  const secrets = secretValues(execution);
  if (secrets.length === 0) return execution;
  return {
    ...maskSecrets(execution, secrets),
    parameters: maskedParameters(execution),
  };
}

/** Steps as the API shows them: secret parameter values masked wherever they appear. */
export function redactSteps(execution: Execution, steps: StepRun[]): StepRun[] {
  return maskSecrets(steps, secretValues(execution));
}
