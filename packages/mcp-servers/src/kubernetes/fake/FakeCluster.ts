import { randomUUID } from 'node:crypto';
import {
  ApiError,
  conflict,
  invalid,
  notFound,
  qualifiedResource,
} from './ApiError';
import {
  applyDefaults,
  controllerOf,
  CRASH_LOOP_ANNOTATION,
  nodeReady,
  now,
  podReady,
  POD_TEMPLATE_HASH,
  REVISION,
  runningPodStatus,
  safeSuffix,
  same,
  scaledValue,
  templateHash,
  templatesEqual,
} from './defaults';
import { findResource, findResourceByKind, groupVersion } from './resources';
import {
  labelSelectorObjectPredicate,
  parseLabelSelector,
  selectorToString,
} from './selectors';
import { KubeFakeSeed, KubeObject, ResourceType } from './types';

/**
 * A change of one object, as a watch reports it.
 * @public
 */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: number;
  resource: ResourceType;
  object: KubeObject;
  previous?: KubeObject;
}

/**
 * Options of a write through the API.
 * @public
 */
export interface WriteOptions {
  dryRun?: boolean;
  /** `status` or `scale` for a subresource write. */
  subresource?: string;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const HISTORY_LIMIT = 5000;
// Annotations of a Deployment that are not copied to its ReplicaSets (as in the real controller).
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

function clone<T>(value: T): T {
  return structuredClone(value);
}

function key(type: ResourceType, namespace: string | undefined, name: string) {
  return `${type.group}/${type.resource}|${namespace ?? ''}|${name}`;
}

function revisionOf(obj: KubeObject) {
  return Number(obj.metadata.annotations?.[REVISION] ?? 0) || 0;
}

function withoutVersion(obj: KubeObject | undefined) {
  if (!obj) return obj;
  const { resourceVersion, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/**
 * The state of the fake cluster and its synchronous controllers. Every successful write (not a
 * dry-run) is followed by `settle()`, which runs the controllers until nothing changes.
 * @public
 */
export class FakeCluster {
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: WatchEvent[] = [];
  private readonly listeners = new Set<(event: WatchEvent) => void>();
  private rv = 0;
  private names = 0;
  private ips = 0;

  /** The newest resourceVersion (a global counter, as etcd's revision). */
  resourceVersion() {
    return String(this.rv);
  }

  /** Subscribes to every change; returns the unsubscribe function. */
  subscribe(listener: (event: WatchEvent) => void) {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The events after `rv`, or undefined when they are no longer kept (a watch gets 410 Gone). */
  eventsSince(rv: number): WatchEvent[] | undefined {
    if (rv >= this.rv) return [];
    const first = this.history[0];
    if (!first || first.rv > rv + 1) return undefined;
    return this.history.filter(e => e.rv > rv);
  }

  /** Loads a seed through the normal write path, keeping the status of seeded pods and nodes. */
  load(seed: KubeFakeSeed) {
    for (const raw of seed.objects) {
      const obj = clone(raw);
      const type = findResourceByKind(String(obj.kind), obj.apiVersion);
      if (!type)
        throw new Error(
          `the fake does not serve ${obj.apiVersion}/${obj.kind}`,
        );
      const namespace = type.namespaced
        ? obj.metadata.namespace ?? 'default'
        : undefined;
      const existing = this.get(type, namespace, obj.metadata.name);
      if (existing) {
        obj.metadata.resourceVersion = existing.metadata.resourceVersion;
        this.replace(type, namespace, obj.metadata.name, obj, {});
      } else {
        this.create(type, namespace, obj, {}, true);
      }
    }
    for (const c of seed.crashLooping ?? []) {
      const type = findResource('', 'v1', 'pods')!;
      const match = parseLabelSelector(c.labelSelector);
      const pods = this.list(type, c.namespace).filter(p =>
        match(p.metadata.labels),
      );
      for (const pod of pods.slice(0, c.count)) {
        pod.metadata.annotations = {
          ...pod.metadata.annotations,
          [CRASH_LOOP_ANNOTATION]: 'true',
        };
        this.commit(type, pod);
      }
    }
    this.settle();
  }

  /** One object (a copy), or undefined. */
  get(type: ResourceType, namespace: string | undefined, name: string) {
    const obj = this.objects.get(key(type, namespace, name));
    return obj ? clone(obj) : undefined;
  }

  /** One object (a copy) by kind, or undefined: a shortcut for tests and seeds. */
  find(kind: string, namespace: string | undefined, name: string) {
    const type = findResourceByKind(kind);
    if (!type) throw new Error(`the fake does not serve the kind ${kind}`);
    return this.get(type, type.namespaced ? namespace : undefined, name);
  }

  /** One object (a copy), or a 404. */
  mustGet(type: ResourceType, namespace: string | undefined, name: string) {
    const obj = this.get(type, namespace, name);
    if (!obj) throw notFound(type, name);
    return obj;
  }

  /** Objects of a type (copies), in one namespace or all, sorted by namespace and name. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    const prefix = `${type.group}/${type.resource}|`;
    const out: KubeObject[] = [];
    for (const [k, obj] of this.objects) {
      if (!k.startsWith(prefix)) continue;
      if (namespace !== undefined && obj.metadata.namespace !== namespace)
        continue;
      out.push(clone(obj));
    }
    return out.sort(
      (a, b) =>
        (a.metadata.namespace ?? '').localeCompare(
          b.metadata.namespace ?? '',
        ) || a.metadata.name.localeCompare(b.metadata.name),
    );
  }

  private emit(event: WatchEvent) {
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
    for (const listener of this.listeners) listener(event);
  }

  /** Stores an object when it differs from the stored one; returns whether it changed. */
  private commit(type: ResourceType, obj: KubeObject): boolean {
    const k = key(type, obj.metadata.namespace, obj.metadata.name);
    const previous = this.objects.get(k);
    if (previous && same(withoutVersion(previous), withoutVersion(obj))) {
      return false;
    }
    this.rv += 1;
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(this.rv);
    this.objects.set(k, stored);
    this.emit({
      type: previous ? 'MODIFIED' : 'ADDED',
      rv: this.rv,
      resource: type,
      object: clone(stored),
      previous: previous ? clone(previous) : undefined,
    });
    return true;
  }

  private remove(type: ResourceType, obj: KubeObject) {
    const k = key(type, obj.metadata.namespace, obj.metadata.name);
    const previous = this.objects.get(k);
    if (!previous) return;
    this.objects.delete(k);
    this.rv += 1;
    const gone = clone(previous);
    gone.metadata.resourceVersion = String(this.rv);
    this.emit({
      type: 'DELETED',
      rv: this.rv,
      resource: type,
      object: gone,
      previous,
    });
  }

  /** Admission: identity, defaults, status handling and validation of an object to be written. */
  private prepare(
    type: ResourceType,
    namespace: string | undefined,
    body: KubeObject,
    previous: KubeObject | undefined,
    options: WriteOptions & { keepStatus?: boolean },
  ): KubeObject {
    if (!body || typeof body !== 'object' || !body.metadata) {
      throw new ApiError(400, 'BadRequest', 'the object has no metadata');
    }
    // a Go server drops nulls when it decodes into its types (`creationTimestamp: null` in templates)
    let obj = dropNulls(clone(body)) as KubeObject;
    const name = obj.metadata.name;
    if (body.kind && body.kind !== type.kind) {
      throw new ApiError(
        400,
        'BadRequest',
        `the kind ${body.kind} does not match the resource ${qualifiedResource(
          type,
        )}`,
      );
    }
    obj.apiVersion = groupVersion(type.group, type.version);
    obj.kind = type.kind;
    if (type.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
        throw new ApiError(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      obj.metadata.namespace = namespace;
    } else {
      delete obj.metadata.namespace;
    }
    if (!name || !NAME_RE.test(name) || name.length > 253) {
      throw invalid(
        type,
        String(name ?? ''),
        `metadata.name: Invalid value: "${
          name ?? ''
        }": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      );
    }
    delete obj.metadata.managedFields;
    delete obj.metadata.selfLink;
    delete obj.metadata.deletionTimestamp;
    // a seed may fix uids so that its objects can reference each other (DaemonSet pods)
    obj.metadata.uid =
      previous?.metadata.uid ??
      (options.keepStatus && body.metadata.uid
        ? body.metadata.uid
        : randomUUID());
    obj.metadata.creationTimestamp =
      previous?.metadata.creationTimestamp ?? now();

    if (type.statusSubresource) {
      if (options.subresource === 'status' && previous) {
        obj = { ...clone(previous), status: obj.status };
      } else if (previous) {
        if (previous.status === undefined) delete obj.status;
        else obj.status = clone(previous.status);
      } else if (!options.keepStatus || obj.status === undefined) {
        if (type.kind === 'Pod')
          obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
        else if (type.kind === 'Namespace') obj.status = { phase: 'Active' };
        else obj.status = {};
      }
    }
    applyDefaults(obj);

    if (type.generation) {
      const specChanged = previous && !same(previous.spec, obj.spec);
      obj.metadata.generation = previous
        ? (previous.metadata.generation ?? 1) + (specChanged ? 1 : 0)
        : 1;
    } else {
      delete obj.metadata.generation;
    }
    this.validate(type, obj, previous);
    return obj;
  }

  private validate(type: ResourceType, obj: KubeObject, previous?: KubeObject) {
    const name = obj.metadata.name;
    if (
      type.namespaced &&
      !this.get(
        findResource('', 'v1', 'namespaces')!,
        undefined,
        obj.metadata.namespace!,
      )
    ) {
      throw new ApiError(
        404,
        'NotFound',
        `namespaces "${obj.metadata.namespace}" not found`,
        {
          name: obj.metadata.namespace,
          kind: 'namespaces',
        },
      );
    }
    if (previous?.immutable === true) {
      if (
        !same(previous.data, obj.data) ||
        !same(previous.binaryData, obj.binaryData) ||
        obj.immutable !== true
      ) {
        throw invalid(
          type,
          name,
          'data: Forbidden: field is immutable when `immutable` is set',
        );
      }
    }
    if (
      type.kind === 'Deployment' ||
      type.kind === 'ReplicaSet' ||
      type.kind === 'DaemonSet'
    ) {
      const spec = obj.spec ?? {};
      const selector = labelSelectorObjectPredicate(spec.selector);
      if (!spec.selector || Object.keys(spec.selector).length === 0) {
        throw invalid(type, name, 'spec.selector: Required value');
      }
      if (!selector(spec.template?.metadata?.labels)) {
        throw invalid(
          type,
          name,
          'spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`',
        );
      }
      if (
        !Array.isArray(spec.template?.spec?.containers) ||
        spec.template.spec.containers.length === 0
      ) {
        throw invalid(
          type,
          name,
          'spec.template.spec.containers: Required value',
        );
      }
      if (
        spec.replicas !== undefined &&
        (!Number.isInteger(spec.replicas) || spec.replicas < 0)
      ) {
        throw invalid(
          type,
          name,
          `spec.replicas: Invalid value: ${spec.replicas}: must be greater than or equal to 0`,
        );
      }
      if (previous && !same(previous.spec?.selector, spec.selector)) {
        throw invalid(
          type,
          name,
          'spec.selector: Invalid value: field is immutable',
        );
      }
    }
    if (type.kind === 'Pod') {
      if (
        !Array.isArray(obj.spec?.containers) ||
        obj.spec.containers.length === 0
      ) {
        throw invalid(type, name, 'spec.containers: Required value');
      }
      if (previous) {
        // a pod's spec is immutable apart from a few fields; the fake keeps all but images fixed
        const strip = (spec: any) => ({
          ...spec,
          containers: (spec?.containers ?? []).map((c: any) => ({
            ...c,
            image: undefined,
          })),
          activeDeadlineSeconds: undefined,
          tolerations: undefined,
        });
        if (!same(strip(previous.spec), strip(obj.spec))) {
          throw invalid(
            type,
            name,
            'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.activeDeadlineSeconds` or `spec.tolerations`',
          );
        }
      }
    }
  }

  /** POST: creates an object (`generateName` honoured); 409 when it exists. */
  create(
    type: ResourceType,
    namespace: string | undefined,
    body: KubeObject,
    options: WriteOptions,
    keepStatus = false,
  ): KubeObject {
    const input = clone(body);
    input.metadata ??= { name: '' };
    if (!input.metadata.name && input.metadata.generateName) {
      input.metadata.name = `${input.metadata.generateName}${safeSuffix(
        `${randomUUID()}`,
        5,
      )}`;
    }
    const existing = this.get(type, namespace, input.metadata.name);
    if (existing) {
      throw new ApiError(
        409,
        'AlreadyExists',
        `${qualifiedResource(type)} "${input.metadata.name}" already exists`,
        {
          name: input.metadata.name,
          group: type.group || undefined,
          kind: type.resource,
        },
      );
    }
    const obj = this.prepare(type, namespace, input, undefined, {
      ...options,
      keepStatus,
    });
    delete obj.metadata.resourceVersion;
    if (options.dryRun) return obj;
    this.commit(type, obj);
    this.settle();
    return this.mustGet(type, namespace, obj.metadata.name);
  }

  /** PUT: replaces an object; 409 on a stale `metadata.resourceVersion`. */
  replace(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    options: WriteOptions,
  ): KubeObject {
    if (body?.metadata?.name && body.metadata.name !== name) {
      throw new ApiError(
        400,
        'BadRequest',
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const previous = this.mustGet(type, namespace, name);
    const sent = body?.metadata?.resourceVersion;
    if (sent && sent !== previous.metadata.resourceVersion)
      throw conflict(type, name);
    const obj = this.prepare(
      type,
      namespace,
      { ...body, metadata: { ...body.metadata, name } },
      previous,
      options,
    );
    obj.metadata.resourceVersion = previous.metadata.resourceVersion;
    if (options.dryRun) return obj;
    this.commit(type, obj);
    this.settle();
    return this.mustGet(type, namespace, name);
  }

  /** DELETE: removes an object now (no graceful termination); dependents go by garbage collection. */
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: {
      dryRun?: boolean;
      propagationPolicy?: string;
      preconditions?: { uid?: string; resourceVersion?: string };
    },
  ): KubeObject {
    const obj = this.mustGet(type, namespace, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== obj.metadata.uid) throw conflict(type, name);
    if (
      pre?.resourceVersion &&
      pre.resourceVersion !== obj.metadata.resourceVersion
    ) {
      throw conflict(type, name);
    }
    obj.metadata.deletionTimestamp = now();
    if (options.dryRun) return obj;
    if (type.kind === 'Namespace') {
      for (const child of [...this.objects.values()]) {
        if (child.metadata.namespace === name) {
          const childType = findResourceByKind(String(child.kind))!;
          this.remove(childType, child);
        }
      }
    }
    if (options.propagationPolicy === 'Orphan') {
      for (const child of [...this.objects.values()]) {
        const refs = child.metadata.ownerReferences ?? [];
        if (refs.some(r => r.uid === obj.metadata.uid)) {
          const next = clone(child);
          next.metadata.ownerReferences = refs.filter(
            r => r.uid !== obj.metadata.uid,
          );
          if (next.metadata.ownerReferences.length === 0)
            delete next.metadata.ownerReferences;
          this.commit(findResourceByKind(String(child.kind))!, next);
        }
      }
    }
    this.remove(type, obj);
    this.settle();
    return obj;
  }

  /** The PodDisruptionBudgets whose selector matches a pod. */
  budgetsFor(pod: KubeObject) {
    const pdbType = findResource('policy', 'v1', 'poddisruptionbudgets')!;
    return this.list(pdbType, pod.metadata.namespace).filter(pdb =>
      labelSelectorObjectPredicate(pdb.spec?.selector)(pod.metadata.labels),
    );
  }

  /** `POST pods/<name>/eviction`: deletes the pod unless a PodDisruptionBudget forbids it (429). */
  evict(namespace: string, name: string, eviction: any, dryRunQuery: boolean) {
    const podType = findResource('', 'v1', 'pods')!;
    const pod = this.mustGet(podType, namespace, name);
    const deleteOptions = eviction?.deleteOptions ?? {};
    const dryRun =
      dryRunQuery ||
      (Array.isArray(deleteOptions.dryRun) &&
        deleteOptions.dryRun.includes('All'));
    const phase = pod.status?.phase;
    if (phase === 'Running') {
      const budgets = this.budgetsFor(pod);
      if (budgets.length > 1) {
        throw new ApiError(
          500,
          'InternalError',
          'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
        );
      }
      const pdb = budgets[0];
      if (pdb) {
        const status = this.budgetStatus(pdb);
        const allowed = podReady(pod)
          ? status.disruptionsAllowed > 0
          : status.currentHealthy >= status.desiredHealthy;
        if (!allowed) {
          throw new ApiError(
            429,
            'TooManyRequests',
            "Cannot evict pod as it would violate the pod's disruption budget.",
            {
              causes: [
                {
                  reason: 'DisruptionBudget',
                  message: `The disruption budget ${pdb.metadata.name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`,
                },
              ],
            },
          );
        }
      }
    }
    if (!dryRun)
      this.delete(podType, namespace, name, {
        preconditions: deleteOptions.preconditions,
      });
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      code: 201,
    };
  }

  /** The `autoscaling/v1` Scale of a Deployment or ReplicaSet. */
  scaleOf(type: ResourceType, namespace: string, name: string) {
    const obj = this.mustGet(type, namespace, name);
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name,
        namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: obj.spec?.replicas ?? 0 },
      status: {
        replicas: obj.status?.replicas ?? 0,
        selector: selectorToString(obj.spec?.selector),
      },
    };
  }

  /** Writes a Scale: sets `spec.replicas` of its Deployment or ReplicaSet. */
  writeScale(
    type: ResourceType,
    namespace: string,
    name: string,
    scale: any,
    options: WriteOptions,
  ) {
    const obj = this.mustGet(type, namespace, name);
    const sent = scale?.metadata?.resourceVersion;
    if (sent && sent !== obj.metadata.resourceVersion)
      throw conflict(type, name);
    const replicas = scale?.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new ApiError(
        422,
        'Invalid',
        `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${replicas}: must be greater than or equal to 0`,
      );
    }
    obj.spec.replicas = replicas;
    const written = this.replace(type, namespace, name, obj, {
      dryRun: options.dryRun,
    });
    if (options.dryRun) {
      const s = this.scaleOf(type, namespace, name);
      s.spec.replicas = written.spec.replicas;
      return s;
    }
    return this.scaleOf(type, namespace, name);
  }

  // ---- controllers ------------------------------------------------------------------------

  /** Runs the controllers until nothing changes (they are level-triggered and idempotent). */
  settle() {
    for (let pass = 0; pass < 50; pass++) {
      let changed = false;
      changed = this.collectGarbage() || changed;
      changed = this.syncDeployments() || changed;
      changed = this.syncReplicaSets() || changed;
      changed = this.schedule() || changed;
      changed = this.runKubelet() || changed;
      changed = this.updateStatuses() || changed;
      if (!changed) return;
    }
    throw new Error('the fake cluster did not settle in 50 passes');
  }

  private type(group: string, resource: string) {
    return findResource(group, 'v1', resource)!;
  }

  private collectGarbage() {
    const uids = new Set([...this.objects.values()].map(o => o.metadata.uid));
    let changed = false;
    for (const obj of [...this.objects.values()]) {
      const refs = obj.metadata.ownerReferences ?? [];
      if (refs.length > 0 && refs.every(r => !uids.has(r.uid))) {
        this.remove(findResourceByKind(String(obj.kind))!, obj);
        changed = true;
      }
    }
    return changed;
  }

  private ownedBy(type: ResourceType, owner: KubeObject) {
    return this.list(type, owner.metadata.namespace).filter(
      o => controllerOf(o)?.uid === owner.metadata.uid,
    );
  }

  private syncDeployments() {
    const rsType = this.type('apps', 'replicasets');
    let changed = false;
    for (const d of this.list(this.type('apps', 'deployments'))) {
      const sets = this.ownedBy(rsType, d);
      const maxRevision = Math.max(0, ...sets.map(revisionOf));
      let newest = sets.find(rs =>
        templatesEqual(rs.spec.template, d.spec.template),
      );
      const copied = Object.fromEntries(
        Object.entries(d.metadata.annotations ?? {}).filter(
          ([k]) => !NOT_COPIED.has(k),
        ),
      );
      if (!newest && !d.spec.paused) {
        const hash = templateHash(d.spec.template);
        let name = `${d.metadata.name}-${hash}`;
        if (this.get(rsType, d.metadata.namespace, name))
          name = `${name}-${sets.length}`;
        const rs: KubeObject = {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name,
            namespace: d.metadata.namespace,
            uid: randomUUID(),
            creationTimestamp: now(),
            generation: 1,
            labels: {
              ...d.spec.template.metadata?.labels,
              [POD_TEMPLATE_HASH]: hash,
            },
            annotations: {
              ...copied,
              [REVISION]: String(maxRevision + 1),
            },
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'Deployment',
                name: d.metadata.name,
                uid: d.metadata.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            replicas: 0,
            ...(d.spec.minReadySeconds
              ? { minReadySeconds: d.spec.minReadySeconds }
              : {}),
            selector: {
              ...d.spec.selector,
              matchLabels: {
                ...d.spec.selector.matchLabels,
                [POD_TEMPLATE_HASH]: hash,
              },
            },
            template: {
              ...clone(d.spec.template),
              metadata: {
                ...d.spec.template.metadata,
                labels: {
                  ...d.spec.template.metadata?.labels,
                  [POD_TEMPLATE_HASH]: hash,
                },
              },
            },
          },
          status: { replicas: 0 },
        };
        this.commit(rsType, rs);
        sets.push(rs);
        newest = rs;
        changed = true;
      }
      if (newest) {
        const next = clone(newest);
        const rollback = revisionOf(newest) < maxRevision;
        if (rollback) {
          // a rollback to an old template: its ReplicaSet becomes the newest revision
          const history = [
            next.metadata.annotations?.[
              'deployment.kubernetes.io/revision-history'
            ],
            String(revisionOf(newest)),
          ]
            .filter(Boolean)
            .join(',');
          next.metadata.annotations = {
            ...next.metadata.annotations,
            'deployment.kubernetes.io/revision-history': history,
          };
        }
        next.metadata.annotations = {
          ...next.metadata.annotations,
          ...copied,
          [REVISION]: String(rollback ? maxRevision + 1 : revisionOf(newest)),
          'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas),
          'deployment.kubernetes.io/max-replicas': String(
            d.spec.replicas +
              scaledValue(
                d.spec.strategy?.rollingUpdate?.maxSurge ?? '25%',
                d.spec.replicas,
                true,
              ),
          ),
        };
        next.spec.replicas = d.spec.replicas;
        if (!same(next, newest)) {
          if (!same(next.spec, newest.spec)) {
            next.metadata.generation = (newest.metadata.generation ?? 1) + 1;
          }
          changed = this.commit(rsType, next) || changed;
        }
        const revision = next.metadata.annotations[REVISION];
        if (d.metadata.annotations?.[REVISION] !== revision) {
          const nd = this.mustGet(
            this.type('apps', 'deployments'),
            d.metadata.namespace,
            d.metadata.name,
          );
          nd.metadata.annotations = {
            ...nd.metadata.annotations,
            [REVISION]: revision,
          };
          changed =
            this.commit(this.type('apps', 'deployments'), nd) || changed;
        }
      }
      const old = sets.filter(rs => rs.metadata.name !== newest?.metadata.name);
      for (const rs of old) {
        if (rs.spec.replicas !== 0 && !d.spec.paused) {
          const next = clone(rs);
          next.spec.replicas = 0;
          next.metadata.generation = (rs.metadata.generation ?? 1) + 1;
          changed = this.commit(rsType, next) || changed;
        }
      }
      const limit = d.spec.revisionHistoryLimit ?? 10;
      const idle = old
        .filter(rs => rs.spec.replicas === 0)
        .sort((a, b) => revisionOf(a) - revisionOf(b));
      for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
        this.remove(rsType, rs);
        changed = true;
      }
    }
    return changed;
  }

  private syncReplicaSets() {
    const podType = this.type('', 'pods');
    let changed = false;
    for (const rs of this.list(this.type('apps', 'replicasets'))) {
      const pods = this.ownedBy(podType, rs).filter(
        p => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
      );
      const want = rs.spec.replicas ?? 0;
      for (let i = pods.length; i < want; i++) {
        this.names += 1;
        const template = rs.spec.template ?? {};
        const pod: KubeObject = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `${rs.metadata.name}-${safeSuffix(
              `${rs.metadata.name}/${this.names}`,
              5,
            )}`,
            generateName: `${rs.metadata.name}-`,
            namespace: rs.metadata.namespace,
            uid: randomUUID(),
            creationTimestamp: now(),
            labels: { ...template.metadata?.labels },
            ...(template.metadata?.annotations
              ? { annotations: { ...template.metadata.annotations } }
              : {}),
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: rs.metadata.name,
                uid: rs.metadata.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: clone(template.spec),
          status: { phase: 'Pending', qosClass: 'BestEffort' },
        };
        this.commit(podType, pod);
        changed = true;
      }
      if (pods.length > want) {
        // scale down: unready and unscheduled pods first, then the newest
        const order = [...pods].sort(
          (a, b) =>
            Number(podReady(a)) - Number(podReady(b)) ||
            String(b.metadata.creationTimestamp).localeCompare(
              String(a.metadata.creationTimestamp),
            ) ||
            b.metadata.name.localeCompare(a.metadata.name),
        );
        for (const pod of order.slice(0, pods.length - want)) {
          this.remove(podType, pod);
          changed = true;
        }
      }
    }
    return changed;
  }

  private schedulable(node: KubeObject, pod: KubeObject) {
    if (node.spec?.unschedulable || !nodeReady(node)) return false;
    const selector = pod.spec?.nodeSelector ?? {};
    for (const [k, v] of Object.entries(selector)) {
      if (node.metadata.labels?.[k] !== v) return false;
    }
    const tolerations: any[] = pod.spec?.tolerations ?? [];
    return (node.spec?.taints ?? []).every(
      (taint: any) =>
        taint.effect === 'PreferNoSchedule' ||
        tolerations.some(
          t =>
            (t.operator === 'Exists' && (!t.key || t.key === taint.key)) ||
            (t.key === taint.key && (t.value ?? '') === (taint.value ?? '')),
        ),
    );
  }

  private schedule() {
    const podType = this.type('', 'pods');
    const nodes = this.list(this.type('', 'nodes'));
    let changed = false;
    for (const pod of this.list(podType)) {
      if (pod.spec?.nodeName || pod.status?.phase !== 'Pending') continue;
      const load = (n: KubeObject) =>
        this.list(podType).filter(p => p.spec?.nodeName === n.metadata.name)
          .length;
      const candidates = nodes
        .filter(n => this.schedulable(n, pod))
        .map(n => ({ n, load: load(n) }))
        .sort(
          (a, b) =>
            a.load - b.load ||
            a.n.metadata.name.localeCompare(b.n.metadata.name),
        );
      const next = clone(pod);
      if (candidates.length === 0) {
        next.status.conditions = [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: `0/${nodes.length} nodes are available: ${nodes.length} node(s) were unschedulable or not ready.`,
            lastProbeTime: null,
            lastTransitionTime:
              pod.status?.conditions?.find(
                (c: any) => c.type === 'PodScheduled',
              )?.lastTransitionTime ?? now(),
          },
        ];
      } else {
        next.spec.nodeName = candidates[0].n.metadata.name;
      }
      changed = this.commit(podType, next) || changed;
    }
    return changed;
  }

  private runKubelet() {
    const podType = this.type('', 'pods');
    const nodeType = this.type('', 'nodes');
    let changed = false;
    for (const pod of this.list(podType)) {
      const nodeName = pod.spec?.nodeName;
      if (!nodeName) continue;
      const crash =
        pod.metadata.annotations?.[CRASH_LOOP_ANNOTATION] === 'true';
      const status = pod.status ?? {};
      const looping = (status.containerStatuses ?? []).some(
        (c: any) => c.state?.waiting?.reason === 'CrashLoopBackOff',
      );
      if (status.phase !== 'Pending' && crash === looping) continue;
      const node = this.get(nodeType, undefined, nodeName);
      if (!node) continue;
      this.ips += 1;
      const ip =
        status.podIP ??
        `10.244.${nodeIndex(this.list(nodeType), nodeName)}.${
          (this.ips % 250) + 2
        }`;
      const next = clone(pod);
      next.status = runningPodStatus(pod, node, ip);
      changed = this.commit(podType, next) || changed;
    }
    return changed;
  }

  private condition(previous: any[] | undefined, fresh: any) {
    const old = previous?.find(c => c.type === fresh.type);
    const unchanged =
      old &&
      old.status === fresh.status &&
      old.reason === fresh.reason &&
      old.message === fresh.message;
    const stamp = unchanged ? old : undefined;
    return {
      ...fresh,
      ...('lastUpdateTime' in fresh
        ? { lastUpdateTime: stamp?.lastUpdateTime ?? now() }
        : {}),
      lastTransitionTime: stamp?.lastTransitionTime ?? now(),
    };
  }

  /** The status a PodDisruptionBudget has for the current pods. */
  budgetStatus(pdb: KubeObject) {
    const pods = this.list(
      this.type('', 'pods'),
      pdb.metadata.namespace,
    ).filter(
      p =>
        labelSelectorObjectPredicate(pdb.spec?.selector)(p.metadata.labels) &&
        p.status?.phase !== 'Succeeded' &&
        p.status?.phase !== 'Failed',
    );
    const expectedPods = pods.length;
    const currentHealthy = pods.filter(podReady).length;
    let desiredHealthy = 0;
    if (pdb.spec?.minAvailable !== undefined) {
      desiredHealthy = scaledValue(pdb.spec.minAvailable, expectedPods, true);
    } else if (pdb.spec?.maxUnavailable !== undefined) {
      desiredHealthy = Math.max(
        0,
        expectedPods - scaledValue(pdb.spec.maxUnavailable, expectedPods, true),
      );
    }
    const disruptionsAllowed = Math.max(0, currentHealthy - desiredHealthy);
    return { expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed };
  }

  private updateStatuses() {
    let changed = false;
    const podType = this.type('', 'pods');
    const rsType = this.type('apps', 'replicasets');
    const readyPods = (pods: KubeObject[]) => pods.filter(podReady).length;

    for (const rs of this.list(rsType)) {
      const pods = this.ownedBy(podType, rs);
      const ready = readyPods(pods);
      const next = clone(rs);
      next.status = {
        replicas: pods.length,
        fullyLabeledReplicas: pods.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: rs.metadata.generation,
      };
      changed = this.commit(rsType, next) || changed;
    }

    const dType = this.type('apps', 'deployments');
    for (const d of this.list(dType)) {
      const sets = this.ownedBy(rsType, d);
      const newest = sets.find(rs =>
        templatesEqual(rs.spec.template, d.spec.template),
      );
      const sum = (f: string) =>
        sets.reduce((n, rs) => n + (rs.status?.[f] ?? 0), 0);
      const replicas = sum('replicas');
      const available = sum('availableReplicas');
      const updated = newest?.status?.replicas ?? 0;
      const desired = d.spec.replicas ?? 0;
      const maxUnavailable = scaledValue(
        d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%',
        desired,
        false,
      );
      const crashing =
        d.spec.template?.metadata?.annotations?.[CRASH_LOOP_ANNOTATION] ===
        'true';
      const complete =
        updated === desired && available === desired && replicas === desired;
      const previous = d.status?.conditions;
      const next = clone(d);
      next.status = {
        observedGeneration: d.metadata.generation,
        replicas,
        updatedReplicas: updated,
        readyReplicas: sum('readyReplicas'),
        availableReplicas: available,
        ...(desired - available > 0
          ? { unavailableReplicas: desired - available }
          : {}),
        conditions: [
          this.condition(previous, {
            type: 'Available',
            status: available >= desired - maxUnavailable ? 'True' : 'False',
            lastUpdateTime: '',
            reason:
              available >= desired - maxUnavailable
                ? 'MinimumReplicasAvailable'
                : 'MinimumReplicasUnavailable',
            message:
              available >= desired - maxUnavailable
                ? 'Deployment has minimum availability.'
                : 'Deployment does not have minimum availability.',
          }),
          this.condition(
            previous,
            crashing
              ? {
                  type: 'Progressing',
                  status: 'False',
                  lastUpdateTime: '',
                  reason: 'ProgressDeadlineExceeded',
                  message: `ReplicaSet "${newest?.metadata.name}" has timed out progressing.`,
                }
              : {
                  type: 'Progressing',
                  status: 'True',
                  lastUpdateTime: '',
                  reason:
                    complete || !newest
                      ? 'NewReplicaSetAvailable'
                      : 'ReplicaSetUpdated',
                  message: newest
                    ? `ReplicaSet "${newest.metadata.name}" ${
                        complete
                          ? 'has successfully progressed.'
                          : 'is progressing.'
                      }`
                    : 'Deployment is paused',
                },
          ),
        ],
      };
      changed = this.commit(dType, next) || changed;
    }

    const dsType = this.type('apps', 'daemonsets');
    for (const ds of this.list(dsType)) {
      const pods = this.ownedBy(podType, ds);
      const ready = readyPods(pods);
      const next = clone(ds);
      next.status = {
        currentNumberScheduled: pods.length,
        desiredNumberScheduled: pods.length,
        numberMisscheduled: 0,
        numberReady: ready,
        numberAvailable: ready,
        updatedNumberScheduled: pods.length,
        observedGeneration: ds.metadata.generation,
      };
      changed = this.commit(dsType, next) || changed;
    }

    const pdbType = this.type('policy', 'poddisruptionbudgets');
    for (const pdb of this.list(pdbType)) {
      const s = this.budgetStatus(pdb);
      const next = clone(pdb);
      next.status = {
        observedGeneration: pdb.metadata.generation,
        disruptionsAllowed: s.disruptionsAllowed,
        currentHealthy: s.currentHealthy,
        desiredHealthy: s.desiredHealthy,
        expectedPods: s.expectedPods,
        conditions: [
          this.condition(pdb.status?.conditions, {
            type: 'DisruptionAllowed',
            status: s.disruptionsAllowed > 0 ? 'True' : 'False',
            reason:
              s.disruptionsAllowed > 0 ? 'SufficientPods' : 'InsufficientPods',
            message: '',
            observedGeneration: pdb.metadata.generation,
          }),
        ],
      };
      changed = this.commit(pdbType, next) || changed;
    }
    return changed;
  }
}

function nodeIndex(all: KubeObject[], name: string) {
  return (
    Math.max(
      0,
      all.findIndex(n => n.metadata.name === name),
    ) + 1
  );
}

function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, dropNulls(v)]),
    );
  }
  return value;
}
