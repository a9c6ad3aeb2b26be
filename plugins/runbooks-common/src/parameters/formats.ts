import { parseEntityRef } from '@backstage/catalog-model';

/**
 * The domain formats a string parameter may declare.
 * @public
 */
export const PARAMETER_FORMATS = [
  'entity-ref',
  'k8s-name',
  'duration',
  'hostname',
] as const;

/**
 * A domain format of a string parameter.
 * @public
 */
export type ParameterFormat = (typeof PARAMETER_FORMATS)[number];

const K8S_NAME =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DURATION = /^(\d+(ms|s|m|h|d))+$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;

/**
 * JSON Schema patterns of the formats a regular expression expresses, for consumers that only read
 * the JSON Schema (forms, the agent's tool schema).
 * @public
 */
export const FORMAT_PATTERNS: Partial<Record<ParameterFormat, string>> = {
  'k8s-name': K8S_NAME.source,
  duration: DURATION.source,
};

/**
 * Checks a value against a domain format; returns the problem, or undefined when it fits.
 * @public
 */
export function checkFormat(
  format: ParameterFormat,
  value: string,
): string | undefined {
  switch (format) {
    case 'k8s-name':
      return value.length <= 253 && K8S_NAME.test(value)
        ? undefined
        : 'must be a Kubernetes name: lowercase letters, digits, - and ., starting and ending with a letter or digit, at most 253 characters';
    case 'duration':
      return DURATION.test(value)
        ? undefined
        : 'must be a duration such as 30s, 5m, 1h30m (units ms, s, m, h, d)';
    case 'hostname':
      return HOSTNAME.test(value) ? undefined : 'must be a hostname';
    case 'entity-ref':
      try {
        const ref = parseEntityRef(value);
        return ref.kind && ref.name ? undefined : 'must be an entity ref';
      } catch {
        return 'must be an entity ref such as component:default/checkout';
      }
    default:
      return `unknown format '${format}'`;
  }
}

/**
 * Parses a duration such as `1h30m` into milliseconds.
 * @public
 */
export function parseDuration(value: string): number {
  if (!DURATION.test(value)) {
    throw new Error(`'${value}' is not a duration such as 30s, 5m, 1h30m`);
  }
  const unit: Record<string, number> = {
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
  };
  let total = 0;
  for (const m of value.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(m[1]) * unit[m[2]];
  }
  return total;
}
