import { nodeReady } from './defaults';
import { KubeObject, ResourceType } from './types';

interface Column {
  name: string;
  type?: string;
  priority?: number;
  cell(obj: KubeObject): string | number;
}

/** "5m", "3h", "2d": the age column as kubectl shows it. */
function age(obj: KubeObject) {
  const created = Date.parse(String(obj.metadata.creationTimestamp ?? ''));
  if (Number.isNaN(created)) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - created) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function podStatus(pod: KubeObject) {
  const waiting = (pod.status?.containerStatuses ?? []).find(
    (c: any) => c.state?.waiting?.reason,
  );
  if (waiting) return waiting.state.waiting.reason;
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  return pod.status?.phase ?? 'Unknown';
}

const NAME: Column = { name: 'Name', cell: o => o.metadata.name };
const AGE: Column = { name: 'Age', cell: age };

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    NAME,
    {
      name: 'Ready',
      cell: p => {
        const statuses = p.status?.containerStatuses ?? [];
        const total = (p.spec?.containers ?? []).length;
        return `${statuses.filter((c: any) => c.ready).length}/${total}`;
      },
    },
    { name: 'Status', cell: podStatus },
    {
      name: 'Restarts',
      type: 'integer',
      cell: p =>
        (p.status?.containerStatuses ?? []).reduce(
          (n: number, c: any) => n + (c.restartCount ?? 0),
          0,
        ),
    },
    AGE,
    { name: 'IP', priority: 1, cell: p => p.status?.podIP ?? '<none>' },
    { name: 'Node', priority: 1, cell: p => p.spec?.nodeName ?? '<none>' },
  ],
  Deployment: [
    NAME,
    {
      name: 'Ready',
      cell: d => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
    },
    {
      name: 'Up-to-date',
      type: 'integer',
      cell: d => d.status?.updatedReplicas ?? 0,
    },
    {
      name: 'Available',
      type: 'integer',
      cell: d => d.status?.availableReplicas ?? 0,
    },
    AGE,
  ],
  ReplicaSet: [
    NAME,
    { name: 'Desired', type: 'integer', cell: r => r.spec?.replicas ?? 0 },
    { name: 'Current', type: 'integer', cell: r => r.status?.replicas ?? 0 },
    { name: 'Ready', type: 'integer', cell: r => r.status?.readyReplicas ?? 0 },
    AGE,
  ],
  DaemonSet: [
    NAME,
    {
      name: 'Desired',
      type: 'integer',
      cell: d => d.status?.desiredNumberScheduled ?? 0,
    },
    {
      name: 'Current',
      type: 'integer',
      cell: d => d.status?.currentNumberScheduled ?? 0,
    },
    { name: 'Ready', type: 'integer', cell: d => d.status?.numberReady ?? 0 },
    AGE,
  ],
  Node: [
    NAME,
    {
      name: 'Status',
      cell: n =>
        `${nodeReady(n) ? 'Ready' : 'NotReady'}${
          n.spec?.unschedulable ? ',SchedulingDisabled' : ''
        }`,
    },
    {
      name: 'Roles',
      cell: n =>
        Object.keys(n.metadata.labels ?? {})
          .filter(k => k.startsWith('node-role.kubernetes.io/'))
          .map(k => k.slice('node-role.kubernetes.io/'.length))
          .join(',') || '<none>',
    },
    AGE,
    { name: 'Version', cell: n => n.status?.nodeInfo?.kubeletVersion ?? '' },
  ],
  PodDisruptionBudget: [
    NAME,
    { name: 'Min Available', cell: p => String(p.spec?.minAvailable ?? 'N/A') },
    {
      name: 'Max Unavailable',
      cell: p => String(p.spec?.maxUnavailable ?? 'N/A'),
    },
    {
      name: 'Allowed Disruptions',
      type: 'integer',
      cell: p => p.status?.disruptionsAllowed ?? 0,
    },
    AGE,
  ],
  Secret: [
    NAME,
    { name: 'Type', cell: s => s.type ?? 'Opaque' },
    {
      name: 'Data',
      type: 'integer',
      cell: s => Object.keys(s.data ?? {}).length,
    },
    AGE,
  ],
  ConfigMap: [
    NAME,
    {
      name: 'Data',
      type: 'integer',
      cell: c =>
        Object.keys(c.data ?? {}).length +
        Object.keys(c.binaryData ?? {}).length,
    },
    AGE,
  ],
  Namespace: [
    NAME,
    { name: 'Status', cell: n => n.status?.phase ?? 'Active' },
    AGE,
  ],
};

/** Whether a request asked for the `meta.k8s.io/v1` Table format (kubectl's human output). */
export function wantsTable(accept: string | undefined) {
  return /as=Table/.test(accept ?? '') && /v=v1[;,]|v=v1$/.test(accept ?? '');
}

/** The objects as a `Table`, each row carrying its whole object (as with `includeObject=Object`). */
export function toTable(
  type: ResourceType,
  objects: KubeObject[],
  resourceVersion: string,
) {
  const columns = COLUMNS[type.kind] ?? [NAME, AGE];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map(c => ({
      name: c.name,
      type: c.type ?? 'string',
      format: c === NAME ? 'name' : '',
      description: '',
      priority: c.priority ?? 0,
    })),
    rows: objects.map(obj => ({
      cells: columns.map(c => c.cell(obj)),
      object: obj,
    })),
  };
}
