import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { KubeObject } from './types';

/** The label that ties a ReplicaSet and its pods to one pod template of a Deployment. */
export const POD_TEMPLATE_HASH = 'pod-template-hash';
/** The revision of a Deployment and of each of its ReplicaSets. */
export const REVISION = 'deployment.kubernetes.io/revision';
/** A pod template annotation that makes the fake's kubelet crash-loop the pod (a bad release). */
export const CRASH_LOOP_ANNOTATION = 'fake.runbooks.backstage.io/crash-loop';

/**
 * Whether two JSON values are equal (key order ignored). Not util.isDeepStrictEqual: it compares
 * prototypes, which differ between realms (structuredClone under Jest's VM contexts).
 */
export function same(a: unknown, b: unknown) {
  return canonicalize(a) === canonicalize(b);
}

/** An RFC 3339 time in seconds, as the API server writes them. */
export function now() {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `n` characters of the alphabet the API server uses for generated names, from a seed string. */
export function safeSuffix(seed: string, n: number) {
  const bytes = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; i < n; i++)
    out += SAFE_ALPHABET[bytes[i] % SAFE_ALPHABET.length];
  return out;
}

function withoutHashLabel(template: any) {
  const copy = structuredClone(template ?? {});
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(copy.metadata.labels).length === 0)
      delete copy.metadata.labels;
  }
  if (copy.metadata && Object.keys(copy.metadata).length === 0)
    delete copy.metadata;
  return copy;
}

/** The `pod-template-hash` of a pod template (a digest of it, not the real fnv hash). */
export function templateHash(template: any) {
  return safeSuffix(canonicalize(withoutHashLabel(template)) ?? '', 10);
}

/** Whether two pod templates are the same apart from the `pod-template-hash` label. */
export function templatesEqual(a: any, b: any) {
  return (
    canonicalize(withoutHashLabel(a)) === canonicalize(withoutHashLabel(b))
  );
}

/** The defaults the API server fills into a pod spec (the ones that show in a diff). */
export function defaultPodSpec(spec: any) {
  if (!spec || typeof spec !== 'object') return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const c of [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
  ]) {
    const image = String(c.image ?? '');
    const tagged = /:[^/]+$/.test(image) && !image.endsWith(':latest');
    c.imagePullPolicy ??= tagged ? 'IfNotPresent' : 'Always';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
  }
}

/** Fills the defaults of a kind into an object about to be stored. */
export function applyDefaults(obj: KubeObject) {
  switch (obj.kind) {
    case 'Deployment': {
      const spec = (obj.spec ??= {});
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
      };
      defaultPodSpec(spec.template?.spec);
      break;
    }
    case 'ReplicaSet':
    case 'DaemonSet':
      if (obj.kind === 'ReplicaSet') obj.spec.replicas ??= 1;
      defaultPodSpec(obj.spec?.template?.spec);
      break;
    case 'Pod':
      defaultPodSpec(obj.spec);
      break;
    case 'Secret': {
      obj.type ??= 'Opaque';
      if (obj.stringData && typeof obj.stringData === 'object') {
        obj.data ??= {};
        for (const [k, v] of Object.entries(obj.stringData)) {
          obj.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
        }
      }
      delete obj.stringData;
      break;
    }
    case 'Namespace':
      obj.spec ??= { finalizers: ['kubernetes'] };
      break;
    default:
  }
}

/** Whether a pod's Ready condition is True. */
export function podReady(pod: KubeObject) {
  return (pod.status?.conditions ?? []).some(
    (c: any) => c.type === 'Ready' && c.status === 'True',
  );
}

/** Whether a node's Ready condition is True. */
export function nodeReady(node: KubeObject) {
  return (node.status?.conditions ?? []).some(
    (c: any) => c.type === 'Ready' && c.status === 'True',
  );
}

/** The owner reference marked `controller: true`. */
export function controllerOf(obj: KubeObject) {
  return obj.metadata.ownerReferences?.find(r => r.controller);
}

/** An integer or a percentage of `total` (rounded up, as the API server does for PDBs). */
export function scaledValue(value: unknown, total: number, roundUp: boolean) {
  if (typeof value === 'number') return value;
  const m = String(value ?? '').match(/^(\d+)%$/);
  if (!m) return Number(value ?? 0) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** The `status` the fake's kubelet gives a running pod. */
export function runningPodStatus(
  pod: KubeObject,
  node: KubeObject,
  ip: string,
) {
  const startedAt = pod.status?.startTime ?? now();
  const crash = pod.metadata.annotations?.[CRASH_LOOP_ANNOTATION] === 'true';
  const ready = crash ? 'False' : 'True';
  const hostIP = (node.status?.addresses ?? []).find(
    (a: any) => a.type === 'InternalIP',
  )?.address;
  const condition = (type: string, status: string) => ({
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: startedAt,
    ...(status === 'False'
      ? {
          reason: 'ContainersNotReady',
          message: `containers with unready status: [${(
            pod.spec.containers ?? []
          )
            .map((c: any) => c.name)
            .join(' ')}]`,
        }
      : {}),
  });
  return {
    phase: 'Running',
    conditions: [
      condition('PodReadyToStartContainers', 'True'),
      condition('Initialized', 'True'),
      condition('Ready', ready),
      condition('ContainersReady', ready),
      condition('PodScheduled', 'True'),
    ],
    hostIP,
    hostIPs: hostIP ? [{ ip: hostIP }] : [],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: startedAt,
    qosClass: 'BestEffort',
    containerStatuses: (pod.spec.containers ?? []).map((c: any) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      containerID: `fake://${safeSuffix(`${pod.metadata.uid}/${c.name}`, 12)}`,
      started: !crash,
      ready: !crash,
      restartCount: crash ? 7 : 0,
      state: crash
        ? {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off 5m0s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}`,
            },
          }
        : { running: { startedAt } },
      lastState: crash
        ? {
            terminated: {
              exitCode: 1,
              reason: 'Error',
              startedAt,
              finishedAt: startedAt,
            },
          }
        : {},
    })),
  };
}
