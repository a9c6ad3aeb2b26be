import { z } from 'zod';

/** A Kubernetes object name (RFC 1123 subdomain): never empty, never a flag. */
export const k8sName = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    'must be a lowercase RFC 1123 name',
  );

/** A namespace name (RFC 1123 label). */
export const k8sNamespace = z
  .string()
  .max(63)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be a lowercase RFC 1123 label',
  );

const LABEL_KEY =
  '(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?';
const LABEL_VALUE = '(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?';
const TERM =
  `(?:!?${LABEL_KEY}` +
  `|${LABEL_KEY}\\s*(?:=|==|!=)\\s*${LABEL_VALUE}` +
  `|${LABEL_KEY}\\s+(?:in|notin)\\s+\\(\\s*${LABEL_VALUE}(?:\\s*,\\s*${LABEL_VALUE})*\\s*\\))`;

/** A label selector: `app=web`, `tier!=db`, `env in (a,b)`, `!canary`, joined by commas. */
export const labelSelector = z
  .string()
  .max(1024)
  .regex(
    new RegExp(`^${TERM}(?:\\s*,\\s*${TERM})*$`),
    'must be a Kubernetes label selector',
  );

/** A duration as kubectl takes it: `30s`, `5m`, `1h30m`. */
export const duration = z
  .string()
  .regex(
    /^(?:[0-9]{1,5}(?:h|m|s))+$/,
    'must be a duration like 30s, 5m or 1h30m',
  );

/** Milliseconds of a {@link duration}. */
export function durationMs(value: string): number {
  let ms = 0;
  for (const m of value.matchAll(/([0-9]+)(h|m|s)/g)) {
    ms +=
      Number(m[1]) *
      { h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'h' | 'm' | 's'];
  }
  return ms;
}

/** A key of a Secret or ConfigMap. */
export const dataKey = z
  .string()
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, 'must consist of alphanumerics, -, _ or .')
  .refine(v => !v.startsWith('-'), 'must not start with -');

/** A qualified annotation or label key (`prefix/name`). */
export const qualifiedKey = z
  .string()
  .max(317)
  .regex(
    /^(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    'must be a qualified name such as example.com/reason',
  );
