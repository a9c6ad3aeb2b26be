import { RunbookEntityV1alpha1 } from '@runbooks/plugin-runbooks-common';
import { Execution } from './types';

/** What replaces a secret value wherever a record is shown, logged or signed. */
export const SECRET_MASK = '***';

/** What a step with `secretOutput: true` stores instead of its output. */
export const WITHHELD_OUTPUT = { withheld: 'secret output: not stored' };

type SecretSource = Pick<Execution, 'runbookContent' | 'parameters'>;

function parameterDefinitions(execution: SecretSource) {
  return (
    (execution.runbookContent as RunbookEntityV1alpha1 | undefined)?.spec
      ?.parameters ?? {}
  );
}

/** Names of the parameters the execution's runbook declares `secret: true`. */
export function secretParameterNames(execution: SecretSource): string[] {
  return Object.entries(parameterDefinitions(execution))
    .filter(([, def]) => def.secret)
    .map(([name]) => name)
    .sort();
}

/** The values of the execution's secret parameters (non-empty), longest first. */
export function secretValues(execution: SecretSource): string[] {
  return secretParameterNames(execution)
    .map(name => execution.parameters[name])
    .filter((v): v is string | number => v !== undefined && v !== null)
    .map(String)
    .filter(v => v.length > 0)
    .sort((a, b) => b.length - a.length);
}

/** A value with every occurrence of the given secrets replaced by `***`, at any depth. */
export function maskSecrets<T>(value: T, secrets: string[]): T {
  if (secrets.length === 0) return value;
  return mask(value, secrets) as T;
}

function mask(value: unknown, secrets: string[]): unknown {
  if (typeof value === 'string') {
    return secrets.reduce((text, s) => text.split(s).join(SECRET_MASK), value);
  }
  // a secret given as a number renders as one
  if (typeof value === 'number' && secrets.includes(String(value))) {
    return SECRET_MASK;
  }
  if (Array.isArray(value)) return value.map(v => mask(v, secrets));
  if (value instanceof Date) return value;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, mask(v, secrets)]),
    );
  }
  return value;
}

/** The parameters with the values of secret ones replaced by `***`. */
export function maskedParameters(
  execution: SecretSource,
): Record<string, unknown> {
  const secret = new Set(secretParameterNames(execution));
  return Object.fromEntries(
    Object.entries(execution.parameters).map(([k, v]) => [
      k,
      secret.has(k) ? SECRET_MASK : v,
    ]),
  );
}
