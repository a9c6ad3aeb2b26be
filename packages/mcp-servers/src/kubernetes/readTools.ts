import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerReadTool, ToolError } from '../contract';
import { failureMessage, Kubectl, splitJsonDocuments } from './Kubectl';
import {
  duration,
  durationMs,
  k8sName,
  k8sNamespace,
  labelSelector,
} from './schemas';
import {
  deploymentSummary,
  nodeSummary,
  pdbSummary,
  podSummary,
  secretConsumers,
  secretMetadata,
  selectorMatches,
  templateImages,
} from './summaries';

const MAX_ITEMS = 500;
const REVISION = 'deployment.kubernetes.io/revision';

/** The ReplicaSets of a Deployment's rollout history, by revision (kubectl's own selection). */
export async function rolloutHistory(
  kubectl: Kubectl,
  namespace: string,
  deployment: string,
  signal?: AbortSignal,
): Promise<Map<number, any>> {
  const out = await kubectl.run(
    [
      'rollout',
      'history',
      `deployment/${deployment}`,
      '--namespace',
      namespace,
      '-o',
      'json',
    ],
    { signal },
  );
  const byRevision = new Map<number, any>();
  for (const rs of splitJsonDocuments(out) as any[]) {
    const revision = Number(rs?.metadata?.annotations?.[REVISION] ?? 0);
    if (revision > 0) byRevision.set(revision, rs);
  }
  return byRevision;
}

/** Pods on a node, in every namespace. */
export async function podsOnNode(
  kubectl: Kubectl,
  node: string,
  signal?: AbortSignal,
) {
  const list = await kubectl.json<{ items: any[] }>(
    [
      'get',
      'pods',
      '--all-namespaces',
      '--field-selector',
      `spec.nodeName=${node}`,
    ],
    { signal },
  );
  return list.items;
}

/** Registers the read-only tools. */
export function registerReadTools(server: McpServer, kubectl: Kubectl) {
  registerReadTool(server, {
    name: 'get-deployment',
    title: 'Read a deployment',
    description:
      'Reads a Deployment: desired replicas (spec), ready/updated/available replicas, revision, images, conditions.',
    input: { namespace: k8sNamespace, name: k8sName },
    run: async (input, { signal }) =>
      deploymentSummary(
        await kubectl.get('deployment', input.name, input.namespace, {
          signal,
        }),
      ),
  });

  registerReadTool(server, {
    name: 'list-pods',
    title: 'List pods',
    description:
      'Lists the pods of a namespace, optionally by label selector: phase, status (e.g. CrashLoopBackOff), readiness, restarts, node, owner.',
    input: { namespace: k8sNamespace, labelSelector: labelSelector.optional() },
    run: async (input, { signal }) => {
      const args = ['get', 'pods', '--namespace', input.namespace];
      if (input.labelSelector) args.push('--selector', input.labelSelector);
      const list = await kubectl.json<{ items: any[] }>(args, { signal });
      const items = list.items.slice(0, MAX_ITEMS).map(podSummary);
      return {
        namespace: input.namespace,
        labelSelector: input.labelSelector ?? null,
        count: list.items.length,
        truncated: list.items.length > MAX_ITEMS,
        items,
      };
    },
  });

  registerReadTool(server, {
    name: 'get-secret-metadata',
    title: "Read a secret's metadata",
    description:
      "Reads a Secret's type, key names, resourceVersion and annotations, and the Deployments that consume it. Never the values.",
    input: { namespace: k8sNamespace, name: k8sName },
    run: async (input, { signal }) => {
      const secret = await kubectl.get('secret', input.name, input.namespace, {
        signal,
      });
      const deployments = await kubectl.json<{ items: any[] }>(
        ['get', 'deployments', '--namespace', input.namespace],
        { signal },
      );
      return {
        ...secretMetadata(secret),
        consumers: secretConsumers(deployments.items, input.name).map(c => ({
          kind: 'Deployment',
          name: c.d.metadata.name,
          via: c.via,
        })),
      };
    },
  });

  registerReadTool(server, {
    name: 'get-node',
    title: 'Read a node',
    description:
      'Reads a Node: ready, unschedulable (cordoned), taints, roles, conditions, kubelet version and how many pods run on it.',
    input: { name: k8sName },
    run: async (input, { signal }) => {
      const node = await kubectl.get('node', input.name, undefined, { signal });
      const pods = await podsOnNode(kubectl, input.name, signal);
      const active = pods.filter(
        p => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
      );
      return nodeSummary(node, active.length);
    },
  });

  registerReadTool(server, {
    name: 'list-pdbs',
    title: 'List PodDisruptionBudgets',
    description:
      'Lists PodDisruptionBudgets with disruptionsAllowed. With `node`: only the budgets that cover pods on that node, with those pods.',
    input: {
      node: k8sName.optional(),
      namespace: k8sNamespace.optional(),
    },
    run: async (input, { signal }) => {
      const args = ['get', 'poddisruptionbudgets'];
      if (input.namespace) args.push('--namespace', input.namespace);
      else args.push('--all-namespaces');
      const pdbs = (await kubectl.json<{ items: any[] }>(args, { signal }))
        .items;
      if (!input.node) {
        return { node: null, count: pdbs.length, items: pdbs.map(pdbSummary) };
      }
      await kubectl.get('node', input.node, undefined, { signal });
      const pods = await podsOnNode(kubectl, input.node, signal);
      const items = pdbs
        .map(pdb => ({
          ...pdbSummary(pdb),
          podsOnNode: pods
            .filter(
              p =>
                p.metadata.namespace === pdb.metadata.namespace &&
                selectorMatches(pdb.spec?.selector, p.metadata.labels),
            )
            .map(p => p.metadata.name)
            .sort(),
        }))
        .filter(x => x.podsOnNode.length > 0);
      return {
        node: input.node,
        count: items.length,
        blocking: items
          .filter(x => x.disruptionsAllowed === 0)
          .map(x => `${x.namespace}/${x.name}`),
        items,
      };
    },
  });

  registerReadTool(server, {
    name: 'get-configmap',
    title: 'Read a ConfigMap',
    description:
      "Reads a ConfigMap's data (ConfigMaps hold no secrets) and binary key names.",
    input: { namespace: k8sNamespace, name: k8sName },
    run: async (input, { signal }) => {
      const cm = await kubectl.get('configmap', input.name, input.namespace, {
        signal,
      });
      return {
        name: cm.metadata.name,
        namespace: cm.metadata.namespace,
        resourceVersion: cm.metadata.resourceVersion,
        immutable: cm.immutable === true,
        keys: Object.keys(cm.data ?? {}).sort(),
        data: cm.data ?? {},
        binaryDataKeys: Object.keys(cm.binaryData ?? {}).sort(),
        labels: cm.metadata.labels ?? {},
      };
    },
  });

  registerReadTool(server, {
    name: 'rollout-status',
    title: 'Wait for a rollout',
    description:
      'Runs `kubectl rollout status` until the Deployment has rolled out or the timeout passes, then reads its replicas. `complete` is false on a timeout or an exceeded progress deadline.',
    input: {
      namespace: k8sNamespace,
      deployment: k8sName,
      timeout: duration.default('5m'),
    },
    run: async (input, { signal }) => {
      const ms = durationMs(input.timeout);
      if (ms < 1000 || ms > 3_600_000) {
        throw new ToolError('timeout must be between 1s and 1h');
      }
      const args = [
        'rollout',
        'status',
        `deployment/${input.deployment}`,
        '--namespace',
        input.namespace,
        `--timeout=${input.timeout}`,
      ];
      const result = await kubectl.raw(args, {
        signal,
        timeoutMs: ms + 30_000,
      });
      const text = `${result.stdout}${result.stderr}`.trim();
      const finished = /timed out waiting|exceeded its progress deadline/.test(
        text,
      );
      if (result.code !== 0 && !finished)
        throw new ToolError(failureMessage(args, result));
      const d = await kubectl.get(
        'deployment',
        input.deployment,
        input.namespace,
        { signal },
      );
      return {
        ...deploymentSummary(d),
        complete: result.code === 0,
        message: text.split('\n').filter(Boolean).slice(-1)[0] ?? '',
      };
    },
  });

  registerReadTool(server, {
    name: 'rollout-history',
    title: 'Read the rollout history',
    description:
      "Lists a Deployment's revisions (oldest first) with their ReplicaSet, images and change cause; `current` marks the running one.",
    input: { namespace: k8sNamespace, deployment: k8sName },
    run: async (input, { signal }) => {
      const d = await kubectl.get(
        'deployment',
        input.deployment,
        input.namespace,
        { signal },
      );
      const history = await rolloutHistory(
        kubectl,
        input.namespace,
        input.deployment,
        signal,
      );
      const current = Number(d.metadata.annotations?.[REVISION] ?? 0);
      const revisions = [...history.entries()]
        .sort(([a], [b]) => a - b)
        .map(([revision, rs]) => ({
          revision,
          replicaSet: rs.metadata.name,
          changeCause:
            rs.metadata.annotations?.['kubernetes.io/change-cause'] ?? null,
          images: templateImages(rs.spec?.template),
          replicas: rs.spec?.replicas ?? 0,
          createdAt: rs.metadata.creationTimestamp,
          current: revision === current,
        }));
      return {
        deployment: input.deployment,
        namespace: input.namespace,
        currentRevision: current,
        revisions,
      };
    },
  });
}
