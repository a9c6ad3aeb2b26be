import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { ToolPlan } from '@runbooks/plugin-runbooks-node';

/** sha256 of the plan's canonical JSON (RFC 8785): what an approval binds to. */
export function planDigest(plan: ToolPlan): string {
  const json = canonicalize(plan);
  if (json === undefined) throw new Error('plan cannot be canonicalized');
  return `sha256:${createHash('sha256').update(json).digest('hex')}`;
}
