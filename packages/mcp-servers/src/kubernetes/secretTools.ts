import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ToolPlanChange } from '@runbooks/plugin-runbooks-node';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { makePlan, registerMutatingTool, ToolError } from '../contract';
import { Kubectl } from './Kubectl';
import {
  LAST_APPLIED,
  normalizeObject,
  objectDiff,
  objectLabel,
  valueDigest,
} from './normalize';
import { dataKey, k8sName, k8sNamespace } from './schemas';

interface Generator {
  type: 'random';
  length: number;
  encoding: 'base64url' | 'hex';
}

type Source =
  | { kind: 'given'; value: string }
  | { kind: 'copied'; from: { name: string; key: string } }
  | { kind: 'generated'; generator: Generator };

/** What the apply needs from the plan; held in memory only, never returned. */
interface Prepared {
  secret: any;
  copiedBase64?: string;
}

function resolveSource(input: {
  value?: string;
  generateIfEmpty?: boolean;
  generator?: Generator;
  fromSecret?: { name: string; key: string };
}): Source {
  const given = input.value !== undefined && input.value !== '';
  const count = [
    given,
    input.fromSecret !== undefined,
    input.generator !== undefined,
  ].filter(Boolean).length;
  if (count > 1) {
    throw new ToolError('give only one of value, fromSecret and generator');
  }
  if (given) return { kind: 'given', value: input.value! };
  if (input.fromSecret) return { kind: 'copied', from: input.fromSecret };
  if (input.generator) return { kind: 'generated', generator: input.generator };
  if (input.generateIfEmpty) {
    return {
      kind: 'generated',
      generator: { type: 'random', length: 32, encoding: 'base64url' },
    };
  }
  throw new ToolError(
    'no new value: give value, fromSecret or generator (or generateIfEmpty: true)',
  );
}

function generate(generator: Generator) {
  return randomBytes(generator.length).toString(generator.encoding);
}

/** Every value of a secret, encoded and decoded: what error messages must never show. */
function secretStrings(secret: any): string[] {
  const out: string[] = [];
  for (const b64 of Object.values<string>(secret?.data ?? {})) {
    out.push(b64);
    const text = Buffer.from(b64, 'base64').toString('utf8');
    if (text.length >= 4) out.push(text);
  }
  return out;
}

/** A secret as a diff shows it: every value replaced, the last-applied configuration omitted. */
function redacted(secret: any, rotatedKey?: string, source?: Source) {
  const copy = normalizeObject(secret);
  copy.data = Object.fromEntries(
    Object.keys(copy.data ?? {}).map(k => {
      if (k !== rotatedKey) return [k, '<unchanged value>'];
      if (!source) return [k, '<current value>'];
      if (source.kind === 'generated') {
        return [
          k,
          `<new value: ${source.generator.length} random bytes, ${source.generator.encoding}>`,
        ];
      }
      if (source.kind === 'copied') {
        return [
          k,
          `<new value: copied from secret ${source.from.name}, key ${source.from.key}>`,
        ];
      }
      return [k, '<new value: given>'];
    }),
  );
  return copy;
}

/** Registers rotate-secret. */
export function registerSecretTools(server: McpServer, kubectl: Kubectl) {
  registerMutatingTool(server, {
    name: 'rotate-secret',
    title: 'Rotate one key of a secret',
    description:
      'Writes a new value for one key of a Secret: the given value, a value copied from another secret, or a random one. Values never appear in results, plans or snapshots; the write fails if the secret changed since the plan.',
    input: {
      namespace: k8sNamespace,
      name: k8sName,
      key: dataKey,
      value: z
        .string()
        .max(1_048_576)
        .optional()
        .describe(
          'The new value; never returned. Empty means: generate one if generateIfEmpty.',
        ),
      generateIfEmpty: z.boolean().optional(),
      generator: z
        .object({
          type: z.literal('random'),
          length: z.number().int().min(16).max(512).default(32),
          encoding: z.enum(['base64url', 'hex']).default('base64url'),
        })
        .optional()
        .describe(
          'Generate the value: `length` random bytes from node:crypto, encoded.',
        ),
      fromSecret: z
        .object({ name: k8sName, key: dataKey })
        .optional()
        .describe(
          'Copy the value of a key of another Secret in the same namespace.',
        ),
    },
    idempotent: false,
    destructive: true,
    snapshot: async (input, { signal }) => {
      const secret = await kubectl.getOptional(
        'secret',
        input.name,
        input.namespace,
        { signal },
      );
      if (!secret) return null;
      return {
        name: secret.metadata.name,
        namespace: secret.metadata.namespace,
        uid: secret.metadata.uid,
        resourceVersion: secret.metadata.resourceVersion,
        type: secret.type ?? 'Opaque',
        keys: Object.fromEntries(
          Object.keys(secret.data ?? {})
            .sort()
            .map(k => [k, valueDigest(secret.data[k])]),
        ),
      };
    },
    plan: async (input, { signal }) => {
      const source = resolveSource(input);
      const secret = await kubectl.get('secret', input.name, input.namespace, {
        signal,
      });
      if (secret.immutable === true) {
        throw new ToolError(
          `secret "${input.name}" is immutable; create a new secret instead`,
        );
      }
      if (!(input.key in (secret.data ?? {}))) {
        throw new ToolError(
          `secret "${input.name}" has no key "${input.key}" (keys: ${
            Object.keys(secret.data ?? {})
              .sort()
              .join(', ') || 'none'
          })`,
        );
      }
      let copiedBase64: string | undefined;
      if (source.kind === 'copied') {
        if (source.from.name === input.name && source.from.key === input.key) {
          throw new ToolError('fromSecret names the key being rotated');
        }
        const from = await kubectl.get(
          'secret',
          source.from.name,
          input.namespace,
          { signal },
        );
        copiedBase64 = from.data?.[source.from.key];
        if (copiedBase64 === undefined) {
          throw new ToolError(
            `secret "${source.from.name}" has no key "${source.from.key}"`,
          );
        }
      }
      let candidate: string;
      if (source.kind === 'given')
        candidate = Buffer.from(source.value, 'utf8').toString('base64');
      else if (source.kind === 'copied') candidate = copiedBase64!;
      else
        candidate = Buffer.from(generate(source.generator), 'utf8').toString(
          'base64',
        );
      const next = writable(secret, input.key, candidate);
      // server-side dry-run of the write; its output holds values and is dropped unread
      await kubectl.run(
        [
          'replace',
          '--validate=false',
          '--dry-run=server',
          '-f',
          '-',
          '-o',
          'name',
        ],
        {
          signal,
          stdin: JSON.stringify(next),
          redact: [...secretStrings(secret), candidate],
        },
      );
      const drops = LAST_APPLIED in (secret.metadata.annotations ?? {});
      const change: ToolPlanChange = {
        action: 'rotate',
        kind: 'Secret',
        name: input.name,
        namespace: input.namespace,
        uid: secret.metadata.uid,
        resourceVersion: secret.metadata.resourceVersion,
        key: input.key,
        source: source.kind,
        ...(source.kind === 'generated' ? { generator: source.generator } : {}),
        ...(source.kind === 'copied' ? { fromSecret: source.from } : {}),
        dropsLastAppliedConfiguration: drops,
      };
      const label = objectLabel('Secret', input.name, input.namespace);
      const afterView = redacted(next, input.key, source);
      return {
        plan: makePlan(
          [change],
          objectDiff(label, redacted(secret, input.key), afterView),
        ),
        prepared: { secret, copiedBase64 } as Prepared,
      };
    },
    apply: async (input, { prepared }, { signal }) => {
      if (!prepared) throw new ToolError('internal: no prepared secret');
      const source = resolveSource(input);
      let base64: string;
      if (source.kind === 'given')
        base64 = Buffer.from(source.value, 'utf8').toString('base64');
      else if (source.kind === 'copied') base64 = prepared.copiedBase64!;
      else
        base64 = Buffer.from(generate(source.generator), 'utf8').toString(
          'base64',
        );
      const next = writable(prepared.secret, input.key, base64);
      const redact = [
        ...secretStrings(prepared.secret),
        base64,
        Buffer.from(base64, 'base64').toString('utf8'),
      ];
      // replace with the resourceVersion read for the plan: a change since then is a 409
      const out = await kubectl.run(
        ['replace', '--validate=false', '-f', '-', '-o', 'json'],
        {
          signal,
          stdin: JSON.stringify(next),
          redact,
        },
      );
      let resourceVersion: string | undefined;
      try {
        resourceVersion = JSON.parse(out)?.metadata?.resourceVersion;
      } catch {
        resourceVersion = undefined;
      }
      return {
        rotated: true,
        name: input.name,
        namespace: input.namespace,
        key: input.key,
        source: source.kind,
        previousResourceVersion: prepared.secret.metadata.resourceVersion,
        resourceVersion: resourceVersion ?? null,
      };
    },
  });
}

/** The secret as it is written back: the new value, no managedFields, no last-applied copy. */
function writable(secret: any, key: string, base64: string) {
  const next = structuredClone(secret);
  next.data = { ...next.data, [key]: base64 };
  delete next.metadata.managedFields;
  if (next.metadata.annotations) {
    delete next.metadata.annotations[LAST_APPLIED];
    if (Object.keys(next.metadata.annotations).length === 0)
      delete next.metadata.annotations;
  }
  return next;
}
