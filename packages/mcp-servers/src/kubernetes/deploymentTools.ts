import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ToolPlanChange } from '@runbooks/plugin-runbooks-node';
import { z } from 'zod';
import { makePlan, registerMutatingTool, ToolError } from '../contract';
import { Kubectl } from './Kubectl';
import {
  normalizeObject,
  objectDiff,
  objectLabel,
  placeholdRestart,
  RESTARTED_AT,
  snapshotOf,
} from './normalize';
import { rolloutHistory } from './readTools';
import { k8sName, k8sNamespace, qualifiedKey } from './schemas';
import {
  deploymentSummary,
  secretConsumers,
  templateImages,
} from './summaries';

const REVISION = 'deployment.kubernetes.io/revision';
const POD_TEMPLATE_HASH = 'pod-template-hash';
// The annotations `kubectl rollout undo` keeps from the Deployment instead of the ReplicaSet.
const UNDO_KEEPS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
];

// One argv element may hold at most 128 KiB on Linux (MAX_ARG_STRLEN).
const MAX_PATCH_BYTES = 120 * 1024;

/** Server-side dry-run of a patch: what the API server would store, nothing stored. */
export async function dryRunPatch(
  kubectl: Kubectl,
  resource: string,
  name: string,
  namespace: string | undefined,
  type: 'strategic' | 'merge' | 'json',
  patch: unknown,
  signal?: AbortSignal,
) {
  // kubectl cannot open /dev/stdin when it is a socket (as node spawns it): the patch goes in argv
  const text = JSON.stringify(patch);
  if (Buffer.byteLength(text) > MAX_PATCH_BYTES) {
    throw new ToolError(
      `the patch for ${resource} "${name}" is larger than ${MAX_PATCH_BYTES} bytes`,
    );
  }
  const args = ['patch', resource, name, '--type', type, '--patch', text];
  if (namespace) args.push('--namespace', namespace);
  args.push('--dry-run=server');
  return kubectl.json(args, { signal });
}

/** The change and diff of a rolling restart of one Deployment (the patch kubectl sends). */
async function restartPlan(kubectl: Kubectl, d: any, signal?: AbortSignal) {
  const { name, namespace } = d.metadata;
  if (d.spec?.paused) {
    throw new ToolError(
      `deployment "${name}" is paused; resume it (kubectl rollout resume) before restarting`,
    );
  }
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const after = await dryRunPatch(
    kubectl,
    'deployment',
    name,
    namespace,
    'strategic',
    {
      spec: {
        template: { metadata: { annotations: { [RESTARTED_AT]: stamp } } },
      },
    },
    signal,
  );
  const before = normalizeObject(d);
  const change: ToolPlanChange = {
    action: 'restart',
    kind: 'Deployment',
    name,
    namespace,
    uid: d.metadata.uid,
    generation: d.metadata.generation,
    replicas: d.spec?.replicas ?? 1,
  };
  return {
    change,
    diff: objectDiff(
      objectLabel('Deployment', name, namespace),
      before,
      placeholdRestart(before, normalizeObject(after)),
    ),
  };
}

function templateKey(template: any) {
  const copy = normalizeObject({ spec: { template } }).spec.template;
  if (copy?.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(copy.metadata.labels).length === 0)
      delete copy.metadata.labels;
  }
  return JSON.stringify(copy);
}

/** Registers rollout-restart, rollout-undo, scale and restart-secret-consumers. */
export function registerDeploymentTools(
  server: McpServer,
  kubectl: Kubectl,
  options: { maxScale: number },
) {
  const target = { namespace: k8sNamespace, deployment: k8sName };
  /** The deployment a tool acts on; with `optional`, null when it does not exist. */
  const readDeployment = (
    input: { deployment: string; namespace: string },
    signal: AbortSignal,
    optional = false,
  ) =>
    optional
      ? kubectl.getOptional('deployment', input.deployment, input.namespace, {
          signal,
        })
      : kubectl.get('deployment', input.deployment, input.namespace, {
          signal,
        });

  registerMutatingTool(server, {
    name: 'rollout-restart',
    title: 'Rolling restart of a deployment',
    description:
      'Restarts the pods of a Deployment with a rolling update (kubectl rollout restart). The plan is the server-side dry-run of the same patch.',
    input: target,
    idempotent: false,
    destructive: false,
    snapshot: async (input, { signal }) =>
      snapshotOf(await readDeployment(input, signal, true)),
    plan: async (input, { signal }) => {
      const d = await readDeployment(input, signal);
      const { change, diff } = await restartPlan(kubectl, d, signal);
      return { plan: makePlan([change], diff) };
    },
    apply: async (input, _planned, { signal }) => {
      await kubectl.run(
        [
          'rollout',
          'restart',
          `deployment/${input.deployment}`,
          '--namespace',
          input.namespace,
        ],
        { signal },
      );
      const d = await readDeployment(input, signal);
      return { restarted: true, ...deploymentSummary(d) };
    },
  });

  registerMutatingTool(server, {
    name: 'rollout-undo',
    title: 'Roll back a deployment',
    description:
      'Rolls a Deployment back to a revision of its history (default: the previous one) with kubectl rollout undo, then sets the given annotations. The plan shows the template change.',
    input: {
      ...target,
      toRevision: z.number().int().min(1).optional(),
      annotations: z.record(qualifiedKey, z.string().max(4096)).optional(),
    },
    idempotent: false,
    destructive: true,
    snapshot: async (input, { signal }) =>
      snapshotOf(await readDeployment(input, signal, true)),
    plan: async (input, { signal }) => {
      const d = await readDeployment(input, signal);
      if (d.spec?.paused) {
        throw new ToolError(
          `deployment "${input.deployment}" is paused; resume it before a rollback`,
        );
      }
      const history = await rolloutHistory(
        kubectl,
        input.namespace,
        input.deployment,
        signal,
      );
      const revisions = [...history.keys()].sort((a, b) => b - a);
      const current = Number(
        d.metadata.annotations?.[REVISION] ?? revisions[0] ?? 0,
      );
      let to = input.toRevision;
      if (to === undefined) {
        to = revisions.find(r => r !== revisions[0]);
        if (to === undefined) {
          throw new ToolError(
            `deployment "${input.deployment}" has no previous revision to roll back to`,
          );
        }
      } else if (!history.has(to)) {
        throw new ToolError(
          `revision ${to} is not in the rollout history of "${
            input.deployment
          }" (revisions: ${
            revisions.sort((a, b) => a - b).join(', ') || 'none'
          })`,
        );
      }
      const rs = history.get(to);
      const base = {
        kind: 'Deployment',
        name: input.deployment,
        namespace: input.namespace,
        uid: d.metadata.uid,
        generation: d.metadata.generation,
        fromRevision: current,
        toRevision: to,
        replicaSet: rs.metadata.name,
      };
      if (templateKey(rs.spec.template) === templateKey(d.spec.template)) {
        return {
          plan: {
            ...makePlan([], ''),
            note: `the current template already matches revision ${to}; nothing to roll back`,
          },
          prepared: { to, skip: true },
        };
      }
      const template = structuredClone(rs.spec.template);
      delete template.metadata?.labels?.[POD_TEMPLATE_HASH];
      const annotations: Record<string, string> = {};
      for (const k of UNDO_KEEPS) {
        if (d.metadata.annotations?.[k] !== undefined)
          annotations[k] = d.metadata.annotations[k];
      }
      for (const [k, v] of Object.entries<string>(
        rs.metadata.annotations ?? {},
      )) {
        if (!UNDO_KEEPS.includes(k)) annotations[k] = v;
      }
      Object.assign(annotations, input.annotations ?? {});
      // the JSON patch kubectl rollout undo sends, plus the annotations set right after it
      const after = await dryRunPatch(
        kubectl,
        'deployment',
        input.deployment,
        input.namespace,
        'json',
        [
          { op: 'replace', path: '/spec/template', value: template },
          { op: 'replace', path: '/metadata/annotations', value: annotations },
        ],
        signal,
      );
      const change: ToolPlanChange = {
        action: 'rollback',
        ...base,
        fromImages: templateImages(d.spec.template),
        toImages: templateImages(rs.spec.template),
        annotations: input.annotations ?? {},
      };
      const before = normalizeObject(d);
      return {
        plan: makePlan(
          [change],
          objectDiff(
            objectLabel('Deployment', input.deployment, input.namespace),
            before,
            normalizeObject(after),
          ),
        ),
        prepared: { to, skip: false },
      };
    },
    apply: async (input, { prepared }, { signal }) => {
      if (!prepared || prepared.skip) {
        return {
          rolledBack: false,
          reason: 'the current template already matches that revision',
        };
      }
      await kubectl.run(
        [
          'rollout',
          'undo',
          `deployment/${input.deployment}`,
          '--namespace',
          input.namespace,
          `--to-revision=${prepared.to}`,
        ],
        { signal },
      );
      const pairs = Object.entries(input.annotations ?? {}).map(
        ([k, v]) => `${k}=${v}`,
      );
      if (pairs.length > 0) {
        await kubectl.run(
          [
            'annotate',
            'deployment',
            input.deployment,
            '--namespace',
            input.namespace,
            '--overwrite',
            ...pairs,
          ],
          { signal },
        );
      }
      const d = await readDeployment(input, signal);
      return {
        rolledBack: true,
        toRevision: prepared.to,
        ...deploymentSummary(d),
      };
    },
  });

  registerMutatingTool(server, {
    name: 'scale',
    title: 'Scale a deployment',
    description: `Sets the replica count of a Deployment (0 to ${options.maxScale}); the apply fails if the count changed since the plan.`,
    input: {
      ...target,
      replicas: z.number().int().min(0).max(options.maxScale),
    },
    idempotent: true,
    destructive: true,
    snapshot: async (input, { signal }) =>
      snapshotOf(await readDeployment(input, signal, true)),
    plan: async (input, { signal }) => {
      const d = await readDeployment(input, signal);
      const from = d.spec?.replicas ?? 1;
      if (from === input.replicas) {
        return {
          plan: { ...makePlan([], ''), note: `already at ${from} replicas` },
          prepared: from,
        };
      }
      const after = await dryRunPatch(
        kubectl,
        'deployment',
        input.deployment,
        input.namespace,
        'merge',
        { spec: { replicas: input.replicas } },
        signal,
      );
      const change: ToolPlanChange = {
        action: 'scale',
        kind: 'Deployment',
        name: input.deployment,
        namespace: input.namespace,
        uid: d.metadata.uid,
        generation: d.metadata.generation,
        fromReplicas: from,
        toReplicas: input.replicas,
      };
      return {
        plan: makePlan(
          [change],
          objectDiff(
            objectLabel('Deployment', input.deployment, input.namespace),
            normalizeObject(d),
            normalizeObject(after),
          ),
        ),
        prepared: from,
      };
    },
    apply: async (input, { prepared }, { signal }) => {
      if (prepared !== input.replicas) {
        // --current-replicas: kubectl refuses if someone scaled in between
        await kubectl.run(
          [
            'scale',
            `deployment/${input.deployment}`,
            '--namespace',
            input.namespace,
            `--replicas=${input.replicas}`,
            `--current-replicas=${prepared}`,
          ],
          { signal },
        );
      }
      const d = await readDeployment(input, signal);
      return { previousReplicas: prepared, ...deploymentSummary(d) };
    },
  });

  registerMutatingTool(server, {
    name: 'restart-secret-consumers',
    title: 'Restart the deployments that use a secret',
    description:
      'Rolling restart of every Deployment in the namespace whose pods reference the Secret (env secretKeyRef, envFrom, secret or projected volume), so they read its new value.',
    input: { namespace: k8sNamespace, secret: k8sName },
    idempotent: false,
    destructive: false,
    snapshot: async (input, { signal }) => {
      const list = await kubectl.json<{ items: any[] }>(
        ['get', 'deployments', '--namespace', input.namespace],
        { signal },
      );
      return secretConsumers(list.items, input.secret).map(c =>
        snapshotOf(c.d),
      );
    },
    plan: async (input, { signal }) => {
      const list = await kubectl.json<{ items: any[] }>(
        ['get', 'deployments', '--namespace', input.namespace],
        { signal },
      );
      const consumers = secretConsumers(list.items, input.secret);
      const changes: ToolPlanChange[] = [];
      const diffs: string[] = [];
      for (const { d, via } of consumers) {
        const { change, diff } = await restartPlan(kubectl, d, signal);
        changes.push({ ...change, via });
        diffs.push(diff);
      }
      return {
        plan: makePlan(changes, diffs.join('')),
        prepared: consumers.map(c => c.d.metadata.name as string),
      };
    },
    apply: async (input, { prepared }, { signal }) => {
      const names = prepared ?? [];
      if (names.length > 0) {
        await kubectl.run(
          [
            'rollout',
            'restart',
            ...names.map(n => `deployment/${n}`),
            '--namespace',
            input.namespace,
          ],
          { signal },
        );
      }
      return {
        secret: input.secret,
        namespace: input.namespace,
        restarted: names,
      };
    },
  });
}
