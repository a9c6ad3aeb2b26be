import { createHmac, randomBytes } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';

/** The annotation `kubectl rollout restart` sets on a pod template. */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
/** The annotation client-side `kubectl apply` keeps (for a Secret it holds the values). */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** What a plan shows instead of the time of a restart that has not happened yet. */
export const RESTART_PLACEHOLDER = '<time of the restart>';

// Written by controllers after a change, not by the change itself.
const CONTROLLER_ANNOTATIONS = ['deployment.kubernetes.io/revision'];

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map(k => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

function dropTimestamps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropTimestamps);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([k]) => k !== 'creationTimestamp')
        .map(([k, v]) => [k, dropTimestamps(v)]),
    );
  }
  return value;
}

/**
 * An object as plans and snapshots show it: without resourceVersion, managedFields, uid,
 * timestamps, generation, status and controller-written annotations; the last-applied
 * configuration is omitted (it may hold secret values); keys sorted so that the same state gives
 * the same text.
 */
export function normalizeObject(obj: any): any {
  if (!obj) return obj;
  const copy = dropTimestamps(structuredClone(obj)) as any;
  delete copy.status;
  if (copy.metadata) {
    for (const k of [
      'resourceVersion',
      'managedFields',
      'uid',
      'generation',
      'selfLink',
    ]) {
      delete copy.metadata[k];
    }
    delete copy.metadata.deletionTimestamp;
    const annotations = copy.metadata.annotations;
    if (annotations) {
      for (const k of CONTROLLER_ANNOTATIONS) delete annotations[k];
      if (LAST_APPLIED in annotations) annotations[LAST_APPLIED] = '<omitted>';
      if (Object.keys(annotations).length === 0)
        delete copy.metadata.annotations;
    }
  }
  return sortKeys(copy);
}

/** Replaces a restartedAt value of `after` that differs from `before` by a fixed placeholder. */
export function placeholdRestart(before: any, after: any): any {
  const previous =
    before?.spec?.template?.metadata?.annotations?.[RESTARTED_AT];
  const annotations = after?.spec?.template?.metadata?.annotations;
  if (
    annotations &&
    RESTARTED_AT in annotations &&
    annotations[RESTARTED_AT] !== previous
  ) {
    annotations[RESTARTED_AT] = RESTART_PLACEHOLDER;
  }
  return after;
}

/** YAML of a normalised object; the empty string for none. */
export function toYaml(obj: unknown): string {
  return obj === undefined || obj === null
    ? ''
    : stringify(obj, { lineWidth: 0 });
}

/** A unified diff of two normalised objects (or of none, for a create or a delete). */
export function objectDiff(
  label: string,
  before: unknown,
  after: unknown,
): string {
  const a = toYaml(before);
  const b = toYaml(after);
  if (a === b) return '';
  return createTwoFilesPatch(
    `${label} (live)`,
    `${label} (planned)`,
    a,
    b,
    undefined,
    undefined,
    { context: 3 },
  );
}

/** Keyed per server process, so a stored digest cannot be used to guess a value offline. */
const VALUE_DIGEST_KEY = randomBytes(32);

/**
 * A short keyed digest of a secret value, for snapshots (never the value itself): equal values give
 * equal digests within one server process, and nothing outside it can test a guess against one.
 */
export function valueDigest(base64: string | undefined): string {
  if (base64 === undefined) return '<absent>';
  const bytes = Buffer.from(base64, 'base64');
  return `hmac-sha256:${createHmac('sha256', VALUE_DIGEST_KEY)
    .update(bytes)
    .digest('hex')
    .slice(0, 16)}`;
}

/** `kind/name` or `kind namespace/name`: how a plan names an object in a diff. */
export function objectLabel(kind: string, name: string, namespace?: string) {
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

/** A snapshot of one object: its normalised form plus what tells versions apart. */
export function snapshotOf(obj: any) {
  if (!obj) return null;
  return {
    object: normalizeObject(obj),
    uid: obj.metadata?.uid,
    resourceVersion: obj.metadata?.resourceVersion,
    ...(obj.metadata?.generation !== undefined
      ? { generation: obj.metadata.generation }
      : {}),
  };
}
