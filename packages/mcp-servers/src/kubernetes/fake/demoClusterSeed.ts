import { now } from './defaults';
import { KubeFakeSeed, KubeObject } from './types';

// The demo catalog (examples/shop.yaml): every entity with backstage.io/kubernetes-id runs in the
// namespace `shop` of the cluster `shop-cluster` (the Resource of type kubernetes-cluster).
const NAMESPACE = 'shop';
const REGISTRY = 'registry.example.com/shop';

/** How one demo workload consumes its secret. */
type SecretUse = 'env' | 'envFrom' | 'volume';

interface Workload {
  name: string;
  replicas: number;
  /** Images of its rollout history, oldest first; the last is the running one. */
  versions: string[];
  port: number;
  secrets: Array<{ name: string; use: SecretUse; key?: string }>;
  budget:
    | { minAvailable: number | string }
    | { maxUnavailable: number | string };
}

const WORKLOADS: Workload[] = [
  {
    name: 'storefront',
    replicas: 3,
    versions: ['1.13.0', '1.14.1', '1.14.2'],
    port: 8080,
    secrets: [{ name: 'storefront-session', use: 'envFrom' }],
    budget: { minAvailable: 2 },
  },
  {
    name: 'checkout',
    replicas: 3,
    versions: ['2.7.0', '2.8.0'],
    port: 8080,
    secrets: [
      { name: 'orders-db-credentials', use: 'env', key: 'password' },
      { name: 'checkout-api-token', use: 'env', key: 'token' },
    ],
    budget: { maxUnavailable: 1 },
  },
  {
    name: 'catalog-service',
    replicas: 2,
    versions: ['0.31.0', '0.32.1'],
    port: 8080,
    secrets: [{ name: 'catalog-db-credentials', use: 'volume' }],
    budget: { minAvailable: 1 },
  },
  {
    name: 'inventory',
    replicas: 2,
    versions: ['4.2.0', '4.3.0'],
    port: 8080,
    secrets: [
      { name: 'inventory-db-credentials', use: 'env', key: 'password' },
    ],
    budget: { minAvailable: 1 },
  },
  {
    name: 'order-worker',
    replicas: 2,
    versions: ['1.9.3', '1.10.0'],
    port: 9090,
    secrets: [{ name: 'orders-db-credentials', use: 'volume' }],
    budget: { maxUnavailable: 1 },
  },
  {
    name: 'payments',
    replicas: 2,
    versions: ['3.0.4', '3.1.0'],
    port: 8443,
    secrets: [
      { name: 'payments-db-credentials', use: 'env', key: 'password' },
      { name: 'payments-gateway-token', use: 'volume' },
    ],
    // as strict as payments teams like it: no voluntary disruption at all
    budget: { minAvailable: 2 },
  },
  {
    name: 'notifications',
    replicas: 2,
    versions: ['1.4.0', '1.5.2'],
    port: 8080,
    secrets: [{ name: 'notifications-smtp', use: 'envFrom' }],
    budget: { maxUnavailable: 1 },
  },
  {
    name: 'rabbitmq',
    replicas: 1,
    versions: ['3.13.7'],
    port: 5672,
    secrets: [{ name: 'rabbitmq-credentials', use: 'env', key: 'password' }],
    budget: { maxUnavailable: 1 },
  },
  {
    name: 'redis',
    replicas: 1,
    versions: ['7.4.1'],
    port: 6379,
    secrets: [{ name: 'redis-password', use: 'env', key: 'password' }],
    budget: { maxUnavailable: 1 },
  },
];

// Demo values: obviously fake, so that nobody mistakes them for credentials.
const SECRET_KEYS: Record<string, Record<string, string>> = {
  'storefront-session': { SESSION_KEY: 'demo-session-key-not-a-secret-01' },
  'orders-db-credentials': {
    username: 'orders',
    password: 'demo-orders-password-0001',
  },
  'checkout-api-token': { token: 'demo-checkout-token-0000000001' },
  'catalog-db-credentials': {
    username: 'catalog',
    password: 'demo-catalog-password-001',
  },
  'inventory-db-credentials': {
    username: 'inventory',
    password: 'demo-inventory-pass-0001',
  },
  'payments-db-credentials': {
    username: 'payments',
    password: 'demo-payments-password-01',
  },
  'payments-gateway-token': { token: 'demo-gateway-token-00000000001' },
  'notifications-smtp': {
    SMTP_USER: 'shop',
    SMTP_PASSWORD: 'demo-smtp-password-000001',
  },
  'rabbitmq-credentials': {
    username: 'shop',
    password: 'demo-rabbitmq-password-001',
  },
  'redis-password': { password: 'demo-redis-password-000001' },
};

/**
 * The nodes of the demo cluster; shop-node-4 starts cordoned (for the uncordon runbook).
 * @public
 */
export const DEMO_NODES = [
  'shop-node-1',
  'shop-node-2',
  'shop-node-3',
  'shop-node-4',
];

function node(name: string, index: number): KubeObject {
  const time = now();
  const condition = (
    type: string,
    status: string,
    reason: string,
    message: string,
  ) => ({
    type,
    status,
    lastHeartbeatTime: time,
    lastTransitionTime: time,
    reason,
    message,
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/worker': '',
        'topology.kubernetes.io/zone': `eu-west-1${'abc'[index % 3]}`,
      },
    },
    spec: {
      podCIDR: `10.244.${index + 1}.0/24`,
      ...(name === 'shop-node-4' ? { unschedulable: true } : {}),
    },
    status: {
      conditions: [
        condition(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        condition(
          'DiskPressure',
          'False',
          'KubeletHasNoDiskPressure',
          'kubelet has no disk pressure',
        ),
        condition(
          'PIDPressure',
          'False',
          'KubeletHasSufficientPID',
          'kubelet has sufficient PID available',
        ),
        condition(
          'Ready',
          'True',
          'KubeletReady',
          'kubelet is posting ready status',
        ),
      ],
      addresses: [
        { type: 'InternalIP', address: `10.0.1.${index + 11}` },
        { type: 'Hostname', address: name },
      ],
      capacity: { cpu: '8', memory: '32Gi', pods: '110' },
      allocatable: { cpu: '7800m', memory: '31Gi', pods: '110' },
      nodeInfo: {
        kubeletVersion: 'v1.32.0',
        kubeProxyVersion: 'v1.32.0',
        containerRuntimeVersion: 'fake://1.0.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
        osImage: 'Fake Linux (runbooks demo)',
        kernelVersion: '6.1.0',
      },
    },
  };
}

function deployment(
  w: Workload,
  version: string,
  revisionNote: string,
): KubeObject {
  const env: unknown[] = [];
  const envFrom: unknown[] = [];
  const volumes: unknown[] = [];
  const mounts: unknown[] = [];
  for (const s of w.secrets) {
    if (s.use === 'env') {
      env.push({
        name: `${s.name.replace(/-/g, '_').toUpperCase()}_${(
          s.key ?? 'value'
        ).toUpperCase()}`,
        valueFrom: { secretKeyRef: { name: s.name, key: s.key } },
      });
    } else if (s.use === 'envFrom') {
      envFrom.push({ secretRef: { name: s.name } });
    } else {
      volumes.push({ name: s.name, secret: { secretName: s.name } });
      mounts.push({
        name: s.name,
        mountPath: `/etc/secrets/${s.name}`,
        readOnly: true,
      });
    }
  }
  env.push({ name: 'APP_VERSION', value: version });
  volumes.push({ name: 'config', configMap: { name: `${w.name}-config` } });
  mounts.push({ name: 'config', mountPath: '/etc/config', readOnly: true });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: w.name,
      namespace: NAMESPACE,
      labels: { app: w.name, 'app.kubernetes.io/part-of': 'shop' },
      annotations: { 'kubernetes.io/change-cause': revisionNote },
    },
    spec: {
      replicas: w.replicas,
      selector: { matchLabels: { app: w.name } },
      template: {
        metadata: {
          labels: { app: w.name, 'app.kubernetes.io/part-of': 'shop' },
        },
        spec: {
          containers: [
            {
              name: w.name,
              image: `${REGISTRY}/${w.name}:${version}`,
              ports: [{ containerPort: w.port, protocol: 'TCP' }],
              env,
              ...(envFrom.length ? { envFrom } : {}),
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/**
 * The demo cluster behind the local portal: the `shop` namespace with a Deployment, its pods, a
 * PodDisruptionBudget, a ConfigMap and the Secrets it consumes for every catalog entity that has
 * `backstage.io/kubernetes-id` in `examples/shop.yaml`, rollout history (two or three revisions),
 * one crash-looping checkout pod, four nodes (`shop-node-1`..`-4`, the fourth cordoned) and a
 * `log-agent` DaemonSet with a pod on each node.
 * @public
 */
export function demoClusterSeed(): KubeFakeSeed {
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    ...DEMO_NODES.map(node),
  ];
  const dsUid = '6f0a3c1e-0000-4000-8000-00000000d5a1';
  objects.push({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name: 'log-agent',
      namespace: 'kube-system',
      uid: dsUid,
      labels: { app: 'log-agent' },
    },
    spec: {
      selector: { matchLabels: { app: 'log-agent' } },
      template: {
        metadata: { labels: { app: 'log-agent' } },
        spec: {
          tolerations: [{ operator: 'Exists' }],
          containers: [
            {
              name: 'log-agent',
              image: 'registry.example.com/infra/log-agent:2.3.0',
            },
          ],
        },
      },
    },
  });
  DEMO_NODES.forEach((nodeName, i) => {
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `log-agent-${'bcdf'[i]}${'xz24'[i]}q${i}k`,
        namespace: 'kube-system',
        labels: { app: 'log-agent' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'DaemonSet',
            name: 'log-agent',
            uid: dsUid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        nodeName,
        tolerations: [{ operator: 'Exists' }],
        containers: [
          {
            name: 'log-agent',
            image: 'registry.example.com/infra/log-agent:2.3.0',
          },
        ],
        volumes: [{ name: 'buffer', emptyDir: {} }],
      },
    });
  });
  for (const [name, data] of Object.entries(SECRET_KEYS)) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: NAMESPACE,
        labels: { 'app.kubernetes.io/part-of': 'shop' },
      },
      stringData: data,
    });
  }
  for (const w of WORKLOADS) {
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `${w.name}-config`,
        namespace: NAMESPACE,
        labels: { app: w.name },
      },
      data: {
        LOG_LEVEL: 'info',
        PORT: String(w.port),
        FEATURE_FLAGS: 'new-checkout=false',
      },
    });
  }
  for (const w of WORKLOADS) {
    w.versions.forEach((version, i) => {
      objects.push(
        deployment(
          w,
          version,
          i === 0 ? `initial release ${version}` : `release ${version}`,
        ),
      );
    });
    objects.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: {
        name: `${w.name}-pdb`,
        namespace: NAMESPACE,
        labels: { app: w.name },
      },
      spec: { ...w.budget, selector: { matchLabels: { app: w.name } } },
    });
  }
  return {
    objects,
    crashLooping: [
      { namespace: NAMESPACE, labelSelector: 'app=checkout', count: 1 },
    ],
  };
}
