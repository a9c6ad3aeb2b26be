import { applyPatch, Operation } from 'fast-json-patch';

/** Thrown for a patch the API server would refuse (answered with 422 or 400). */
export class PatchError extends Error {}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

/** RFC 7386 JSON merge patch (`application/merge-patch+json`). */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: Record<string, any> = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = jsonMergePatch(result[key], value);
  }
  return result;
}

/** RFC 6902 JSON patch (`application/json-patch+json`). */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) {
    throw new PatchError('a JSON patch must be an array of operations');
  }
  try {
    return applyPatch(clone(target), operations as Operation[], true, false)
      .newDocument;
  } catch (e) {
    throw new PatchError(
      `the JSON patch could not be applied: ${(e as Error).message}`,
    );
  }
}

// The patchMergeKey of the lists kubectl patches, by field name (the real server knows them by
// Go type; a field name is unambiguous for the kinds this fake serves).
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
  conditions: 'type',
  taints: 'key',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  addresses: 'type',
};

// Lists of scalars with patchStrategy merge.
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

function mergeList(
  current: unknown[],
  patch: unknown[],
  key: string,
): unknown[] {
  if (patch.some(item => isObject(item) && item.$patch === 'replace')) {
    return patch.filter(item => !(isObject(item) && item.$patch === 'replace'));
  }
  const result = current.map(clone);
  for (const item of patch) {
    if (!isObject(item)) {
      result.push(clone(item));
      continue;
    }
    const at = result.findIndex(
      existing => isObject(existing) && existing[key] === item[key],
    );
    if (item.$patch === 'delete') {
      if (at >= 0) result.splice(at, 1);
    } else if (at >= 0) {
      result[at] = strategicMergePatch(result[at], item);
    } else {
      result.push(strategicMergePatch(undefined, item));
    }
  }
  return result;
}

/**
 * Strategic merge patch (`application/strategic-merge-patch+json`) for the fields kubectl patches:
 * lists with a merge key merge by it, `$patch: delete|replace`, `$deleteFromPrimitiveList/…`;
 * `$setElementOrder/…` and `$retainKeys` are accepted and ignored (order is not kept).
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch, ...rest } = patch;
    return strategicMergePatch(undefined, rest);
  }
  const result: Record<string, any> = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const remove = Array.isArray(value) ? value : [];
      if (Array.isArray(result[field])) {
        result[field] = result[field].filter(
          (v: unknown) => !remove.includes(v),
        );
      }
      continue;
    }
    if (value === null) {
      delete result[key];
    } else if (isObject(value) && value.$patch === 'delete') {
      delete result[key];
    } else if (Array.isArray(value)) {
      if (MERGE_KEYS[key] && Array.isArray(result[key])) {
        result[key] = mergeList(result[key], value, MERGE_KEYS[key]);
      } else if (MERGED_SCALAR_LISTS.has(key) && Array.isArray(result[key])) {
        result[key] = [...new Set([...result[key], ...value])];
      } else {
        result[key] = value
          .filter(item => !(isObject(item) && item.$patch))
          .map(item => strategicMergePatch(undefined, item));
      }
    } else if (isObject(value)) {
      result[key] = strategicMergePatch(result[key], value);
    } else {
      result[key] = value;
    }
  }
  return result;
}
