import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { ToolPlan } from './ToolInvoker';

/**
 * The input properties the runbooks tool contract reserves. A tool that accepts `dryRun` offers
 * plans; one that accepts `snapshot` offers snapshots of the state it acts on.
 * @public
 */
export const TOOL_CONTRACT_PROPERTIES = {
  /** `true`: compute and return the plan, change nothing. */
  dryRun: 'dryRun',
  /** On an apply: the digest of the approved plan; the tool refuses when its fresh plan differs. */
  expectedPlanDigest: 'expectedPlanDigest',
  /** `true`: return the current state the tool would act on, change nothing. */
  snapshot: 'snapshot',
} as const;

/**
 * The digest an approval binds to: `sha256:` and the hex sha256 of the plan's canonical JSON
 * (RFC 8785, `canonicalize`). Servers and the engine compute it the same way.
 * @public
 */
export function planDigest(plan: ToolPlan): string {
  const json = canonicalize(plan);
  if (json === undefined) throw new Error('plan cannot be canonicalized');
  return `sha256:${createHash('sha256').update(json).digest('hex')}`;
}

/**
 * The structured result of a dry-run under the tool contract.
 * @public
 */
export interface DryRunResult {
  plan: ToolPlan;
  planDigest: string;
}

/**
 * The structured result of a snapshot request under the tool contract.
 * @public
 */
export interface SnapshotResult {
  snapshot: unknown;
}

/**
 * Checks that a value is a plan under the contract: `changes[]` of objects with an `action`,
 * `objectCount` a non-negative integer, `diff` a string when present. Returns the problem or
 * undefined.
 * @public
 */
export function checkToolPlan(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return 'plan is not an object';
  }
  const plan = value as Record<string, unknown>;
  if (!Array.isArray(plan.changes)) return 'plan.changes is not an array';
  for (const [i, change] of plan.changes.entries()) {
    if (!change || typeof change !== 'object' || Array.isArray(change)) {
      return `plan.changes[${i}] is not an object`;
    }
    if (typeof (change as Record<string, unknown>).action !== 'string') {
      return `plan.changes[${i}].action is not a string`;
    }
  }
  if (
    typeof plan.objectCount !== 'number' ||
    !Number.isInteger(plan.objectCount) ||
    plan.objectCount < 0
  ) {
    return 'plan.objectCount is not a non-negative integer';
  }
  if (plan.diff !== undefined && typeof plan.diff !== 'string') {
    return 'plan.diff is not a string';
  }
  return undefined;
}
