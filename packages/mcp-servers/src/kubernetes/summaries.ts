import { LAST_APPLIED } from './normalize';

const REVISION = 'deployment.kubernetes.io/revision';

function conditions(obj: any) {
  return (obj?.status?.conditions ?? []).map((c: any) => ({
    type: c.type,
    status: c.status,
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.message ? { message: c.message } : {}),
  }));
}

function selectorString(selector: any): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(
    ([k, v]) => `${k}=${v}`,
  );
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** The images of a pod template, by container. */
export function templateImages(template: any) {
  return (template?.spec?.containers ?? []).map((c: any) => ({
    container: c.name,
    image: c.image,
  }));
}

/** What `get-deployment` and `rollout-status` report of a Deployment. */
export function deploymentSummary(d: any) {
  const status = d.status ?? {};
  return {
    name: d.metadata.name,
    namespace: d.metadata.namespace,
    uid: d.metadata.uid,
    generation: d.metadata.generation ?? 0,
    observedGeneration: status.observedGeneration ?? 0,
    replicas: d.spec?.replicas ?? 1,
    currentReplicas: status.replicas ?? 0,
    readyReplicas: status.readyReplicas ?? 0,
    updatedReplicas: status.updatedReplicas ?? 0,
    availableReplicas: status.availableReplicas ?? 0,
    unavailableReplicas: status.unavailableReplicas ?? 0,
    revision: Number(d.metadata.annotations?.[REVISION] ?? 0),
    paused: d.spec?.paused === true,
    strategy: d.spec?.strategy?.type ?? 'RollingUpdate',
    selector: selectorString(d.spec?.selector),
    images: templateImages(d.spec?.template),
    conditions: conditions(d),
  };
}

/** The STATUS column of `kubectl get pods`. */
function podStatus(pod: any): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  const waiting = (pod.status?.containerStatuses ?? []).find(
    (c: any) => c.state?.waiting?.reason,
  );
  if (waiting) return waiting.state.waiting.reason;
  const terminated = (pod.status?.containerStatuses ?? []).find(
    (c: any) => c.state?.terminated?.reason,
  );
  if (terminated && pod.status?.phase !== 'Running') {
    return terminated.state.terminated.reason;
  }
  return pod.status?.phase ?? 'Unknown';
}

/** What `list-pods` reports of a Pod. */
export function podSummary(pod: any) {
  const statuses: any[] = pod.status?.containerStatuses ?? [];
  const owner = (pod.metadata.ownerReferences ?? []).find(
    (r: any) => r.controller,
  );
  return {
    name: pod.metadata.name,
    namespace: pod.metadata.namespace,
    uid: pod.metadata.uid,
    phase: pod.status?.phase ?? 'Unknown',
    status: podStatus(pod),
    ready: (pod.status?.conditions ?? []).some(
      (c: any) => c.type === 'Ready' && c.status === 'True',
    ),
    readyContainers: `${statuses.filter(c => c.ready).length}/${
      (pod.spec?.containers ?? []).length
    }`,
    restarts: statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0),
    node: pod.spec?.nodeName ?? null,
    podIP: pod.status?.podIP ?? null,
    owner: owner ? { kind: owner.kind, name: owner.name } : null,
    labels: pod.metadata.labels ?? {},
    createdAt: pod.metadata.creationTimestamp,
    containers: (pod.spec?.containers ?? []).map((c: any) => {
      const s = statuses.find(x => x.name === c.name);
      return {
        name: c.name,
        image: c.image,
        ready: s?.ready ?? false,
        restartCount: s?.restartCount ?? 0,
        state: s?.state ? Object.keys(s.state)[0] : 'unknown',
        ...(s?.state?.waiting?.reason
          ? { reason: s.state.waiting.reason }
          : {}),
      };
    }),
  };
}

/** What `get-node` reports of a Node. */
export function nodeSummary(node: any, podCount?: number) {
  const labels = node.metadata.labels ?? {};
  return {
    name: node.metadata.name,
    uid: node.metadata.uid,
    ready: (node.status?.conditions ?? []).some(
      (c: any) => c.type === 'Ready' && c.status === 'True',
    ),
    unschedulable: node.spec?.unschedulable === true,
    roles: Object.keys(labels)
      .filter(k => k.startsWith('node-role.kubernetes.io/'))
      .map(k => k.slice('node-role.kubernetes.io/'.length)),
    taints: (node.spec?.taints ?? []).map((t: any) => ({
      key: t.key,
      ...(t.value ? { value: t.value } : {}),
      effect: t.effect,
    })),
    labels,
    conditions: conditions(node),
    kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? null,
    addresses: node.status?.addresses ?? [],
    capacity: node.status?.capacity ?? {},
    allocatable: node.status?.allocatable ?? {},
    ...(podCount !== undefined ? { podCount } : {}),
  };
}

/** Whether a `matchLabels`/`matchExpressions` selector matches labels (empty matches all). */
export function selectorMatches(
  selector: any,
  labels: Record<string, string> = {},
) {
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const e of selector?.matchExpressions ?? []) {
    const has = e.key in labels;
    const values: string[] = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(labels[e.key])))
      return false;
    if (e.operator === 'NotIn' && has && values.includes(labels[e.key]))
      return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** What `list-pdbs` reports of a PodDisruptionBudget. */
export function pdbSummary(pdb: any) {
  return {
    name: pdb.metadata.name,
    namespace: pdb.metadata.namespace,
    minAvailable: pdb.spec?.minAvailable ?? null,
    maxUnavailable: pdb.spec?.maxUnavailable ?? null,
    selector: selectorString(pdb.spec?.selector),
    disruptionsAllowed: pdb.status?.disruptionsAllowed ?? 0,
    currentHealthy: pdb.status?.currentHealthy ?? 0,
    desiredHealthy: pdb.status?.desiredHealthy ?? 0,
    expectedPods: pdb.status?.expectedPods ?? 0,
  };
}

/** How a pod template uses a secret: env (secretKeyRef), envFrom, volume or projected volume. */
export function secretUses(template: any, secret: string): string[] {
  const uses = new Set<string>();
  const spec = template?.spec ?? {};
  for (const c of [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
  ]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef?.name === secret) uses.add('env');
    }
    for (const e of c.envFrom ?? []) {
      if (e.secretRef?.name === secret) uses.add('envFrom');
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v.secret?.secretName === secret) uses.add('volume');
    for (const source of v.projected?.sources ?? []) {
      if (source.secret?.name === secret) uses.add('projectedVolume');
    }
  }
  return [...uses].sort();
}

/** The Deployments of a list whose pod template uses a secret, by name. */
export function secretConsumers(deployments: any[], secret: string) {
  return deployments
    .map(d => ({ d, via: secretUses(d.spec?.template, secret) }))
    .filter(x => x.via.length > 0)
    .sort((a, b) => a.d.metadata.name.localeCompare(b.d.metadata.name));
}

/** A Secret's metadata: key names, never values (the last-applied annotation may hold them). */
export function secretMetadata(secret: any) {
  const annotations = { ...(secret.metadata.annotations ?? {}) };
  if (LAST_APPLIED in annotations)
    annotations[LAST_APPLIED] = '<omitted: it can contain the values>';
  return {
    name: secret.metadata.name,
    namespace: secret.metadata.namespace,
    uid: secret.metadata.uid,
    type: secret.type ?? 'Opaque',
    keys: [
      ...new Set([
        ...Object.keys(secret.data ?? {}),
        ...Object.keys(secret.stringData ?? {}),
      ]),
    ].sort(),
    immutable: secret.immutable === true,
    resourceVersion: secret.metadata.resourceVersion,
    createdAt: secret.metadata.creationTimestamp,
    labels: secret.metadata.labels ?? {},
    annotations,
  };
}
