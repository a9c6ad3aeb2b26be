import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ToolPlanChange } from '@runbooks/plugin-runbooks-node';
import { z } from 'zod';
import { makePlan, registerMutatingTool, ToolError } from '../contract';
import { Kubectl } from './Kubectl';
import {
  normalizeObject,
  objectDiff,
  objectLabel,
  snapshotOf,
} from './normalize';
import { k8sName, k8sNamespace } from './schemas';

const MAX_MANIFEST_BYTES = 512 * 1024;

const manifestSchema = z
  .object({
    apiVersion: z
      .string()
      .max(253)
      .regex(
        /^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/,
        'must be an apiVersion such as apps/v1',
      ),
    kind: z
      .string()
      .regex(/^[A-Z][A-Za-z0-9]{0,62}$/, 'must be a kind such as Deployment'),
    metadata: z
      .object({ name: k8sName, namespace: k8sNamespace.optional() })
      .passthrough(),
  })
  .passthrough();

type Manifest = z.infer<typeof manifestSchema>;

function checkManifest(manifest: Manifest, namespace: string | undefined) {
  if (manifest.kind === 'Secret') {
    throw new ToolError(
      'apply-manifest does not write Secrets (their values would land in plans); use rotate-secret',
    );
  }
  if (manifest.kind.endsWith('List')) {
    throw new ToolError('apply-manifest takes one object, not a List');
  }
  if (JSON.stringify(manifest).length > MAX_MANIFEST_BYTES) {
    throw new ToolError(
      `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`,
    );
  }
  const own = manifest.metadata.namespace;
  if (own && namespace && own !== namespace) {
    throw new ToolError(
      `the manifest's namespace "${own}" differs from the namespace "${namespace}"`,
    );
  }
}

/** Registers apply-manifest. */
export function registerManifestTools(server: McpServer, kubectl: Kubectl) {
  const current = async (
    manifest: Manifest,
    namespace: string | undefined,
    signal?: AbortSignal,
  ) => {
    const args = ['get', '-f', '-', '--ignore-not-found', '-o', 'json'];
    if (namespace) args.push('--namespace', namespace);
    const out = await kubectl.run(args, {
      signal,
      stdin: JSON.stringify(manifest),
    });
    if (!out.trim()) return undefined;
    const parsed = JSON.parse(out);
    return parsed.kind === 'List' ? parsed.items?.[0] : parsed;
  };
  const applyArgs = (
    namespace: string | undefined,
    forceConflicts: boolean,
  ) => {
    const args = [
      'apply',
      '--server-side',
      '--field-manager=runbooks',
      '--validate=false',
      '-f',
      '-',
      '-o',
      'json',
    ];
    if (forceConflicts) args.push('--force-conflicts');
    if (namespace) args.push('--namespace', namespace);
    return args;
  };

  registerMutatingTool(server, {
    name: 'apply-manifest',
    title: 'Apply a manifest',
    description:
      'Creates or updates one Kubernetes object with server-side apply (field manager "runbooks"). The plan is the server-side dry-run, diffed against the live object. Secrets are refused.',
    input: {
      manifest: manifestSchema,
      namespace: k8sNamespace.optional(),
      forceConflicts: z.boolean().default(false),
    },
    idempotent: true,
    destructive: true,
    snapshot: async (input, { signal }) => {
      checkManifest(input.manifest, input.namespace);
      return snapshotOf(await current(input.manifest, input.namespace, signal));
    },
    plan: async (input, { signal }) => {
      checkManifest(input.manifest, input.namespace);
      const ns = input.manifest.metadata.namespace ?? input.namespace;
      const before = await current(input.manifest, ns, signal);
      const after = JSON.parse(
        await kubectl.run(
          [...applyArgs(ns, input.forceConflicts), '--dry-run=server'],
          {
            signal,
            stdin: JSON.stringify(input.manifest),
          },
        ),
      );
      const label = objectLabel(
        input.manifest.kind,
        input.manifest.metadata.name,
        after.metadata?.namespace,
      );
      const a = normalizeObject(before);
      const b = normalizeObject(after);
      if (before && JSON.stringify(a) === JSON.stringify(b)) {
        return {
          plan: {
            ...makePlan([], ''),
            note: 'the live object already matches the manifest',
          },
        };
      }
      const change: ToolPlanChange = {
        action: before ? 'update' : 'create',
        kind: input.manifest.kind,
        apiVersion: input.manifest.apiVersion,
        name: input.manifest.metadata.name,
        ...(after.metadata?.namespace
          ? { namespace: after.metadata.namespace }
          : {}),
        ...(before
          ? {
              uid: before.metadata.uid,
              // generation where the kind has one; otherwise the resourceVersion detects a change
              ...(before.metadata.generation !== undefined
                ? { generation: before.metadata.generation }
                : { resourceVersion: before.metadata.resourceVersion }),
            }
          : {}),
      };
      return { plan: makePlan([change], objectDiff(label, a, b)) };
    },
    apply: async (input, { plan }, { signal }) => {
      if (plan.changes.length === 0)
        return { applied: false, reason: 'nothing to change' };
      const ns = input.manifest.metadata.namespace ?? input.namespace;
      const obj = JSON.parse(
        await kubectl.run(applyArgs(ns, input.forceConflicts), {
          signal,
          stdin: JSON.stringify(input.manifest),
        }),
      );
      return {
        applied: true,
        action: plan.changes[0].action,
        kind: obj.kind,
        name: obj.metadata?.name,
        namespace: obj.metadata?.namespace ?? null,
        uid: obj.metadata?.uid,
        resourceVersion: obj.metadata?.resourceVersion,
        generation: obj.metadata?.generation ?? null,
      };
    },
  });
}
