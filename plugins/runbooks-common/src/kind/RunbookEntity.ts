import { z } from 'zod';
import { parameterDefinitionSchema } from '../parameters/definitions';
import { RUNBOOK_API_VERSION, RUNBOOK_KIND } from '../constants';

// names that would collide with what every JavaScript object has
const RESERVED_NAMES = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  'prototype',
]);

const oneOrMany = z.union([z.string(), z.array(z.string())]);

const celExpression = z.string({
  error: 'must be a CEL expression (a string)',
});

/**
 * A CEL check with the message shown when it fails.
 * @public
 */
export const runbookCheckSchema = z.union([
  celExpression,
  z
    .object({
      expression: celExpression,
      message: z.string().optional(),
    })
    .strict(),
]);

/**
 * The zod schema of one runbook step.
 * @public
 */
export const runbookStepSchema = z
  .object({
    id: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{0,62}$/,
        'must be lowercase letters, digits and -, starting with a letter',
      ),
    name: z.string().optional(),
    description: z.string().optional(),
    tool: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/,
        "must be a reference 'server/tool', such as kubernetes/rollout-restart",
      ),
    input: z.record(z.string(), z.unknown()).default({}),
    mutates: z.boolean({
      error: issue =>
        issue.input === undefined
          ? 'is required: true when the step changes anything, false when it only reads'
          : 'must be true or false',
    }),
    idempotent: z.boolean().default(false),
    dryRun: z.boolean().optional(),
    /**
     * The step's output is a secret (a token, a generated password): later steps and verify see it,
     * but it is never stored, shown, logged or signed (a statement holds its digest only).
     */
    secretOutput: z.boolean().optional(),
    approval: z
      .enum(['always', 'auto'], {
        error: issue =>
          `must be 'always' or 'auto' (the blast radius decides), not ${JSON.stringify(
            issue.input,
          )}`,
      })
      .default('auto'),
    verify: z.array(runbookCheckSchema).optional(),
    onFailure: z
      .enum(['abort', 'continue'], {
        error: issue =>
          `must be 'abort' or 'continue', not ${JSON.stringify(issue.input)}`,
      })
      .default('abort'),
    timeout: z.string().optional(),
  })
  .strict();

/**
 * The zod schema of a trigger: the alerts a runbook answers, for the offline planner.
 * @public
 */
export const runbookTriggerSchema = z
  .object({
    alert: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    keywords: z.array(z.string()).optional(),
  })
  .strict();

/**
 * The zod schema of `spec.appliesTo`: explicit targets and/or a selector resolved at query time.
 * @public
 */
export const runbookAppliesToSchema = z
  .object({
    entities: z.array(z.string()).optional(),
    selector: z
      .object({
        kind: oneOrMany.optional(),
        type: oneOrMany.optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const blastRadiusAction = z.enum(
  ['run', 'approve', 'two-approvals', 'refuse'],
  {
    error: issue =>
      `must be 'run', 'approve', 'two-approvals' or 'refuse', not ${JSON.stringify(
        issue.input,
      )}`,
  },
);

/**
 * The zod schema of `spec.blastRadius`: what the runbook requires at each blast-radius level. It can
 * only make the backend's policy stricter; a looser action is ignored.
 * @public
 */
export const runbookBlastRadiusSchema = z
  .object({
    actions: z
      .object({
        low: blastRadiusAction.optional(),
        medium: blastRadiusAction.optional(),
        high: blastRadiusAction.optional(),
        critical: blastRadiusAction.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * The zod schema of a Runbook entity (`runbooks.backstage.io/v1alpha1`, `kind: Runbook`).
 * @public
 */
export const runbookEntitySchema = z.object({
  apiVersion: z.literal(RUNBOOK_API_VERSION, {
    error: issue =>
      `must be ${RUNBOOK_API_VERSION}, not ${JSON.stringify(issue.input)}`,
  }),
  kind: z.literal(RUNBOOK_KIND),
  metadata: z
    .object({
      name: z
        .string()
        .regex(
          /^[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$/,
          'must be letters and digits separated by -, _ or .',
        )
        .max(63, 'must be at most 63 characters'),
      namespace: z.string().optional(),
      title: z.string().optional(),
      description: z.string().optional(),
    })
    .passthrough(),
  spec: z
    .object({
      owner: z.string().min(1, 'must not be empty'),
      lifecycle: z.string().optional(),
      system: z.string().optional(),
      appliesTo: runbookAppliesToSchema.optional(),
      parameters: z
        .record(
          z
            .string()
            .regex(
              /^[A-Za-z_][A-Za-z0-9_]*$/,
              'parameter names must be letters, digits and _, starting with a letter or _',
            )
            .refine(
              name => !RESERVED_NAMES.has(name),
              'this name is reserved by JavaScript objects; choose another',
            ),
          parameterDefinitionSchema,
        )
        .default({}),
      triggers: z.array(runbookTriggerSchema).optional(),
      preconditions: z.array(runbookCheckSchema).optional(),
      blastRadius: runbookBlastRadiusSchema.optional(),
      steps: z
        .array(runbookStepSchema, {
          error: issue =>
            issue.input === undefined
              ? 'is required: a list of steps'
              : 'must be a list of steps',
        })
        .min(1, 'a runbook needs at least one step'),
    })
    .strict(),
  relations: z.array(z.unknown()).optional(),
  status: z.unknown().optional(),
});

/**
 * A Runbook entity, after validation (defaults applied).
 * @public
 */
export type RunbookEntityV1alpha1 = z.output<typeof runbookEntitySchema>;

/**
 * One step of a runbook.
 * @public
 */
export type RunbookStep = z.output<typeof runbookStepSchema>;

/**
 * A CEL check: an expression, or an expression with a message.
 * @public
 */
export type RunbookCheck = z.output<typeof runbookCheckSchema>;
