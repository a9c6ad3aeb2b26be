import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  planDigest,
  ToolPlan,
  ToolPlanChange,
} from '@runbooks/plugin-runbooks-node';
import { z } from 'zod';

/**
 * A failure the tool reports to its caller as an error result (the message is for a person).
 * @public
 */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

/**
 * What a tool implementation gets besides its input.
 * @public
 */
export interface ToolContext {
  /** Aborted when the client cancels the call. */
  signal: AbortSignal;
}

/**
 * A read-only tool: it changes nothing, so it may run at any time (snapshots, health checks).
 * @public
 */
export interface ReadToolSpec<S extends z.ZodRawShape> {
  name: string;
  title?: string;
  description: string;
  input: S;
  run(
    input: z.infer<z.ZodObject<S>>,
    context: ToolContext,
  ): Promise<Record<string, unknown>>;
}

/**
 * A mutating tool under the runbooks tool contract: a plan for `dryRun: true`, a snapshot for
 * `snapshot: true`, and an apply that runs only when its fresh plan has the `expectedPlanDigest`.
 * @public
 */
export interface MutatingToolSpec<S extends z.ZodRawShape, P = undefined> {
  name: string;
  title?: string;
  description: string;
  input: S;
  /** Running it twice with the same input ends in the same state. */
  idempotent: boolean;
  /** It may delete or replace things (default true). */
  destructive?: boolean;
  /** The current state of what the tool acts on; secrets never appear in it. */
  snapshot(
    input: z.infer<z.ZodObject<S>>,
    context: ToolContext,
  ): Promise<unknown>;
  /** The plan: what would change. It must be the same for the same state (no timestamps). */
  plan(
    input: z.infer<z.ZodObject<S>>,
    context: ToolContext,
  ): Promise<{ plan: ToolPlan; prepared?: P }>;
  /** Makes exactly the change of the plan just computed with the expected digest. */
  apply(
    input: z.infer<z.ZodObject<S>>,
    planned: { plan: ToolPlan; planDigest: string; prepared?: P },
    context: ToolContext,
  ): Promise<Record<string, unknown>>;
}

function result(structured: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(structured) }],
    structuredContent: structured,
  };
}

function failure(e: unknown): CallToolResult {
  const message =
    e instanceof ToolError
      ? e.message
      : `internal error: ${(e as Error)?.message ?? String(e)}`;
  return { content: [{ type: 'text', text: message }], isError: true };
}

/**
 * Registers a read-only tool (MCP annotation `readOnlyHint: true`).
 * @public
 */
export function registerReadTool<S extends z.ZodRawShape>(
  server: McpServer,
  spec: ReadToolSpec<S>,
) {
  server.registerTool(
    spec.name,
    {
      title: spec.title,
      description: spec.description,
      // strict: a misspelt input property is an error, not silently dropped
      inputSchema: z.strictObject(spec.input),
      annotations: {
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    (async (args: z.infer<z.ZodObject<S>>, extra: { signal: AbortSignal }) => {
      try {
        return result(await spec.run(args, { signal: extra.signal }));
      } catch (e) {
        return failure(e);
      }
    }) as any,
  );
}

/** Input properties of the contract, added to every mutating tool's input schema. */
const contractShape = {
  dryRun: z
    .boolean()
    .optional()
    .describe('Return the plan and its digest; change nothing.'),
  expectedPlanDigest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/)
    .optional()
    .describe(
      'Apply only if the fresh plan has this digest (from a dry-run); required for an apply.',
    ),
  snapshot: z
    .boolean()
    .optional()
    .describe('Return the current state this tool acts on; change nothing.'),
};

/**
 * Registers a mutating tool under the contract (see the README, "Tool contract").
 * @public
 */
export function registerMutatingTool<S extends z.ZodRawShape, P = undefined>(
  server: McpServer,
  spec: MutatingToolSpec<S, P>,
) {
  server.registerTool(
    spec.name,
    {
      title: spec.title,
      description: spec.description,
      inputSchema: z.strictObject({ ...spec.input, ...contractShape }),
      annotations: {
        readOnlyHint: false,
        destructiveHint: spec.destructive ?? true,
        idempotentHint: spec.idempotent,
        openWorldHint: false,
      },
    },
    (async (args: Record<string, unknown>, extra: { signal: AbortSignal }) => {
      const { dryRun, expectedPlanDigest, snapshot, ...rest } = args;
      const input = rest as z.infer<z.ZodObject<S>>;
      const context = { signal: extra.signal };
      try {
        if (snapshot) {
          return result({ snapshot: await spec.snapshot(input, context) });
        }
        const { plan, prepared } = await spec.plan(input, context);
        const digest = planDigest(plan);
        if (dryRun) return result({ plan, planDigest: digest });
        if (typeof expectedPlanDigest !== 'string') {
          throw new ToolError(
            'an apply needs expectedPlanDigest: call with dryRun: true first and pass the digest of the plan you approve',
          );
        }
        if (digest !== expectedPlanDigest) {
          throw new ToolError(
            `plan changed since it was approved (approved ${expectedPlanDigest}, now ${digest}); nothing was applied`,
          );
        }
        return result(
          await spec.apply(
            input,
            { plan, planDigest: digest, prepared },
            context,
          ),
        );
      } catch (e) {
        return failure(e);
      }
    }) as any,
  );
}

/**
 * Builds a plan from its changes and diff text.
 * @public
 */
export function makePlan(changes: ToolPlanChange[], diff: string): ToolPlan {
  return { changes, objectCount: changes.length, diff };
}
