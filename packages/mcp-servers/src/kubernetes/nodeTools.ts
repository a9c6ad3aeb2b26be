import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ToolPlanChange } from '@runbooks/plugin-runbooks-node';
import { z } from 'zod';
import { makePlan, registerMutatingTool, ToolError } from '../contract';
import { dryRunPatch } from './deploymentTools';
import { Kubectl } from './Kubectl';
import {
  normalizeObject,
  objectDiff,
  objectLabel,
  snapshotOf,
} from './normalize';
import { podsOnNode } from './readTools';
import { duration, durationMs, k8sName, k8sNamespace } from './schemas';
import { nodeSummary, pdbSummary, selectorMatches } from './summaries';

/** What a drain does with one pod on the node, as kubectl drain decides it. */
interface PodVerdict {
  pod: any;
  evict: boolean;
  /** Why the pod stays (skipped) or why the drain cannot start (blocker). */
  skipped?: string;
  blocker?: string;
}

function controllerOf(pod: any) {
  return (pod.metadata.ownerReferences ?? []).find((r: any) => r.controller);
}

/** kubectl drain's filters, in its order: deleted, DaemonSet, mirror, local storage, unmanaged. */
function classify(
  pod: any,
  opts: {
    ignoreDaemonSets: boolean;
    deleteEmptyDirData: boolean;
    force: boolean;
  },
): PodVerdict {
  const finished =
    pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  const ref = `${pod.metadata.namespace}/${pod.metadata.name}`;
  if (pod.metadata.deletionTimestamp) {
    return { pod, evict: false, skipped: 'already terminating' };
  }
  const owner = controllerOf(pod);
  if (owner?.kind === 'DaemonSet') {
    return opts.ignoreDaemonSets
      ? { pod, evict: false, skipped: 'DaemonSet-managed' }
      : {
          pod,
          evict: false,
          blocker: `${ref} is managed by a DaemonSet (set ignoreDaemonSets)`,
        };
  }
  if (pod.metadata.annotations?.['kubernetes.io/config.mirror']) {
    return { pod, evict: false, skipped: 'mirror pod' };
  }
  if (
    !finished &&
    !opts.deleteEmptyDirData &&
    (pod.spec?.volumes ?? []).some((v: any) => v.emptyDir)
  ) {
    return {
      pod,
      evict: false,
      blocker: `${ref} uses emptyDir local storage (set deleteEmptyDirData)`,
    };
  }
  if (!finished && !owner && !opts.force) {
    return {
      pod,
      evict: false,
      blocker: `${ref} is not managed by a controller and would not come back (set force: true)`,
    };
  }
  return { pod, evict: true };
}

function podReady(pod: any) {
  return (pod.status?.conditions ?? []).some(
    (c: any) => c.type === 'Ready' && c.status === 'True',
  );
}

/** Registers cordon, uncordon, drain and delete-pod. */
export function registerNodeTools(server: McpServer, kubectl: Kubectl) {
  for (const cordon of [true, false]) {
    const verb = cordon ? 'cordon' : 'uncordon';
    registerMutatingTool(server, {
      name: verb,
      title: cordon ? 'Cordon a node' : 'Uncordon a node',
      description: cordon
        ? 'Marks a Node unschedulable (kubectl cordon): running pods stay, new ones go elsewhere.'
        : 'Makes a cordoned Node schedulable again (kubectl uncordon).',
      input: { name: k8sName },
      idempotent: true,
      destructive: false,
      snapshot: async (input, { signal }) =>
        snapshotOf(
          await kubectl.getOptional('node', input.name, undefined, { signal }),
        ),
      plan: async (input, { signal }) => {
        const node = await kubectl.get('node', input.name, undefined, {
          signal,
        });
        if ((node.spec?.unschedulable === true) === cordon) {
          return {
            plan: {
              ...makePlan([], ''),
              note: `node "${input.name}" is already ${
                cordon ? 'cordoned' : 'schedulable'
              }`,
            },
          };
        }
        const after = await dryRunPatch(
          kubectl,
          'node',
          input.name,
          undefined,
          'strategic',
          { spec: { unschedulable: cordon ? true : null } },
          signal,
        );
        const change: ToolPlanChange = {
          action: verb,
          kind: 'Node',
          name: input.name,
          uid: node.metadata.uid,
        };
        return {
          plan: makePlan(
            [change],
            objectDiff(
              objectLabel('Node', input.name),
              normalizeObject(node),
              normalizeObject(after),
            ),
          ),
        };
      },
      apply: async (input, _planned, { signal }) => {
        await kubectl.run([verb, input.name], { signal });
        return nodeSummary(
          await kubectl.get('node', input.name, undefined, { signal }),
        );
      },
    });
  }

  registerMutatingTool(server, {
    name: 'drain',
    title: 'Drain a node',
    description:
      'Cordons a Node and evicts its pods through the eviction API (kubectl drain), which honours PodDisruptionBudgets. The plan lists each pod with its budget verdict; unmanaged pods are refused unless force is true.',
    input: {
      name: k8sName,
      ignoreDaemonSets: z.boolean().default(true),
      deleteEmptyDirData: z.boolean().default(false),
      force: z.boolean().default(false),
      respectPodDisruptionBudgets: z
        .literal(true)
        .default(true)
        .describe(
          'Always true: pods leave through the eviction API, never by plain deletion.',
        ),
      gracePeriodSeconds: z.number().int().min(0).max(3600).optional(),
      timeout: duration.default('10m'),
    },
    idempotent: true,
    destructive: true,
    snapshot: async (input, { signal }) => {
      const node = await kubectl.getOptional('node', input.name, undefined, {
        signal,
      });
      if (!node) return null;
      const pods = await podsOnNode(kubectl, input.name, signal);
      return {
        node: snapshotOf(node),
        pods: pods
          .map(p => ({
            namespace: p.metadata.namespace,
            name: p.metadata.name,
            uid: p.metadata.uid,
          }))
          .sort((a, b) =>
            `${a.namespace}/${a.name}`.localeCompare(
              `${b.namespace}/${b.name}`,
            ),
          ),
      };
    },
    plan: async (input, { signal }) => {
      const ms = durationMs(input.timeout);
      if (ms < 1000 || ms > 7_200_000)
        throw new ToolError('timeout must be between 1s and 2h');
      const node = await kubectl.get('node', input.name, undefined, { signal });
      const pods = (await podsOnNode(kubectl, input.name, signal)).sort(
        (a, b) =>
          `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
            `${b.metadata.namespace}/${b.metadata.name}`,
          ),
      );
      const verdicts = pods.map(p => classify(p, input));
      const blockers = verdicts.filter(v => v.blocker).map(v => v.blocker);
      if (blockers.length > 0) {
        throw new ToolError(
          `cannot drain node "${input.name}": ${blockers.join('; ')}`,
        );
      }
      const pdbs = (
        await kubectl.json<{ items: any[] }>(
          ['get', 'poddisruptionbudgets', '--all-namespaces'],
          { signal },
        )
      ).items;
      const used = new Map<string, number>();
      const changes: ToolPlanChange[] = [
        {
          action: 'cordon',
          kind: 'Node',
          name: input.name,
          uid: node.metadata.uid,
          alreadyCordoned: node.spec?.unschedulable === true,
        },
      ];
      for (const { pod } of verdicts.filter(v => v.evict)) {
        const budgets = pdbs.filter(
          b =>
            b.metadata.namespace === pod.metadata.namespace &&
            selectorMatches(b.spec?.selector, pod.metadata.labels),
        );
        let verdict: string;
        let budget: ReturnType<typeof pdbSummary> | undefined;
        if (budgets.length === 0) verdict = 'no-budget';
        else if (budgets.length > 1) verdict = 'blocked-multiple-budgets';
        else {
          budget = pdbSummary(budgets[0]);
          const key = `${budget.namespace}/${budget.name}`;
          const before = used.get(key) ?? 0;
          if (pod.status?.phase !== 'Running') verdict = 'allowed';
          else if (!podReady(pod)) {
            verdict =
              budget.currentHealthy >= budget.desiredHealthy
                ? 'allowed'
                : 'blocked';
          } else {
            used.set(key, before + 1);
            if (before < budget.disruptionsAllowed) verdict = 'allowed';
            else
              verdict =
                budget.disruptionsAllowed > 0 ? 'after-replacement' : 'blocked';
          }
        }
        const owner = controllerOf(pod);
        changes.push({
          action: 'evict',
          kind: 'Pod',
          name: pod.metadata.name,
          namespace: pod.metadata.namespace,
          uid: pod.metadata.uid,
          owner: owner ? `${owner.kind}/${owner.name}` : null,
          podDisruptionBudget: budget ? budget.name : null,
          disruptionsAllowed: budget ? budget.disruptionsAllowed : null,
          pdbVerdict: verdict,
        });
      }
      const skipped = verdicts
        .filter(v => v.skipped)
        .map(v => ({
          namespace: v.pod.metadata.namespace,
          name: v.pod.metadata.name,
          reason: v.skipped,
        }));
      const ref = (p: any) => `${p.metadata.namespace}/${p.metadata.name}`;
      const diff = objectDiff(
        objectLabel('Node', input.name),
        {
          node: input.name,
          unschedulable: node.spec?.unschedulable === true,
          pods: pods.map(ref),
        },
        {
          node: input.name,
          unschedulable: true,
          pods: verdicts.filter(v => !v.evict).map(v => ref(v.pod)),
        },
      );
      return {
        plan: {
          ...makePlan(changes, diff),
          skipped,
          blocked: changes.filter(c =>
            String(c.pdbVerdict ?? '').startsWith('blocked'),
          ).length,
        },
      };
    },
    apply: async (input, { plan }, { signal }) => {
      const args = ['drain', input.name, `--timeout=${input.timeout}`];
      if (input.ignoreDaemonSets) args.push('--ignore-daemonsets');
      if (input.deleteEmptyDirData) args.push('--delete-emptydir-data');
      if (input.force) args.push('--force');
      if (input.gracePeriodSeconds !== undefined)
        args.push(`--grace-period=${input.gracePeriodSeconds}`);
      const result = await kubectl.raw(args, {
        signal,
        timeoutMs: durationMs(input.timeout) + 60_000,
      });
      const node = await kubectl.get('node', input.name, undefined, { signal });
      const pods = await podsOnNode(kubectl, input.name, signal);
      const remaining = pods
        .map(p =>
          classify(p, { ...input, force: true, deleteEmptyDirData: true }),
        )
        .filter(v => v.evict)
        .map(v => `${v.pod.metadata.namespace}/${v.pod.metadata.name}`)
        .sort();
      const present = new Set(pods.map(p => p.metadata.uid));
      const evicted = plan.changes
        .filter(c => c.action === 'evict' && !present.has(c.uid))
        .map(c => `${c.namespace}/${c.name}`);
      const lines = `${result.stdout}\n${result.stderr}`
        .split('\n')
        .filter(Boolean);
      return {
        node: input.name,
        cordoned: node.spec?.unschedulable === true,
        drained: result.code === 0 && remaining.length === 0,
        evicted,
        remainingPods: remaining.length,
        remaining,
        ...(result.code !== 0 ? { error: lines.slice(-3).join('\n') } : {}),
      };
    },
  });

  registerMutatingTool(server, {
    name: 'delete-pod',
    title: 'Delete a pod',
    description:
      'Deletes one Pod (its controller, if any, creates a replacement). The plan shows the pod, its owner and its uid; a pod replaced since the plan is not deleted.',
    input: {
      namespace: k8sNamespace,
      name: k8sName,
      gracePeriodSeconds: z.number().int().min(0).max(3600).optional(),
    },
    idempotent: true,
    destructive: true,
    snapshot: async (input, { signal }) =>
      snapshotOf(
        await kubectl.getOptional('pod', input.name, input.namespace, {
          signal,
        }),
      ),
    plan: async (input, { signal }) => {
      const pod = await kubectl.get('pod', input.name, input.namespace, {
        signal,
      });
      const args = [
        'delete',
        'pod',
        input.name,
        '--namespace',
        input.namespace,
        '--dry-run=server',
      ];
      if (input.gracePeriodSeconds !== undefined)
        args.push(`--grace-period=${input.gracePeriodSeconds}`);
      await kubectl.run(args, { signal });
      const owner = controllerOf(pod);
      const change: ToolPlanChange = {
        action: 'delete',
        kind: 'Pod',
        name: input.name,
        namespace: input.namespace,
        uid: pod.metadata.uid,
        node: pod.spec?.nodeName ?? null,
        owner: owner ? `${owner.kind}/${owner.name}` : null,
        replacedByController: Boolean(owner),
        gracePeriodSeconds: input.gracePeriodSeconds ?? null,
      };
      return {
        plan: makePlan(
          [change],
          objectDiff(
            objectLabel('Pod', input.name, input.namespace),
            normalizeObject(pod),
            undefined,
          ),
        ),
      };
    },
    apply: async (input, { plan }, { signal }) => {
      const grace = input.gracePeriodSeconds;
      const args = [
        'delete',
        'pod',
        input.name,
        '--namespace',
        input.namespace,
        '--wait=true',
      ];
      if (grace !== undefined) args.push(`--grace-period=${grace}`);
      args.push(`--timeout=${(grace ?? 30) + 60}s`);
      await kubectl.run(args, {
        signal,
        timeoutMs: ((grace ?? 30) + 90) * 1000,
      });
      return {
        deleted: true,
        name: input.name,
        namespace: input.namespace,
        uid: plan.changes[0]?.uid,
      };
    },
  });
}
