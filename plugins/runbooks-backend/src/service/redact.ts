import { RunbookEntityV1alpha1 } from '@runbooks/plugin-runbooks-common';
import { Execution, StepRun } from '../engine';

const MASK = '***';

/** The values of the execution's parameters that its runbook declares `secret: true`. */
function secretValues(execution: Execution): string[] {
  const definitions =
    (execution.runbookContent as RunbookEntityV1alpha1 | undefined)?.spec
      ?.parameters ?? {};
  return Object.entries(definitions)
    .filter(([, def]) => def.secret)
    .map(([name]) => execution.parameters[name])
    .filter((v): v is string | number => v !== undefined && v !== null)
    .map(String)
    .filter(v => v.length > 0);
}

function mask(value: unknown, secrets: string[]): unknown {
  if (typeof value === 'string') {
    return secrets.reduce((text, s) => text.split(s).join(MASK), value);
  }
  if (Array.isArray(value)) return value.map(v => mask(v, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, mask(v, secrets)]),
    );
  }
  return value;
}

/** An execution as the API shows it: values of secret parameters replaced by `***`. */
export function redactExecution(execution: Execution): Execution {
  const secrets = secretValues(execution);
  if (secrets.length === 0) return execution;
  const definitions =
    (execution.runbookContent as RunbookEntityV1alpha1).spec.parameters ?? {};
  return {
    ...execution,
    parameters: Object.fromEntries(
      Object.entries(execution.parameters).map(([k, v]) => [
        k,
        definitions[k]?.secret ? MASK : v,
      ]),
    ),
  };
}

/** Steps as the API shows them: secret parameter values masked wherever they appear. */
export function redactSteps(execution: Execution, steps: StepRun[]): StepRun[] {
  const secrets = secretValues(execution);
  if (secrets.length === 0) return steps;
  return steps.map(step => mask(step, secrets) as StepRun);
}
