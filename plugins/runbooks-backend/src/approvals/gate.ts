import { BlastRadius } from '@runbooks/plugin-runbooks-common';
import { Approval } from '../engine/types';

/** Where an approval gate stands. */
export interface GateState {
  /** Approvals that count: for this plan and request, unexpired, one per person, not the requester's. */
  counted: Approval[];
  required: number;
  /** Owners of affected dependents one of whom must approve; empty when no such rule applies. */
  ownerApprovalFrom: string[];
  ownerApproved: boolean;
  satisfied: boolean;
  /** What is still missing, in plain words (empty when satisfied). */
  missing: string[];
}

/**
 * Evaluates a step's approval gate from the decisions on its current approval request. An approval
 * counts only for the plan digest and step attempt it names, until it expires, once per person, and
 * never when its author requested the execution.
 */
export function evaluateGate(input: {
  radius: BlastRadius | undefined;
  approvals: Approval[];
  requester: string;
  planDigest: string | undefined;
  attempt: number;
  now: Date;
}): GateState {
  const required = Math.max(input.radius?.approvalsRequired ?? 1, 1);
  const ownerApprovalFrom = input.radius?.ownerApprovalFrom ?? [];
  const seen = new Set<string>();
  const counted = input.approvals.filter(a => {
    const counts =
      a.decision === 'approved' &&
      a.planDigest === input.planDigest &&
      a.attempt === input.attempt &&
      a.decidedBy !== input.requester &&
      (!a.expiresAt || a.expiresAt.getTime() > input.now.getTime()) &&
      !seen.has(a.decidedBy);
    if (counts) seen.add(a.decidedBy);
    return counts;
  });
  const ownerApproved =
    ownerApprovalFrom.length === 0 ||
    counted.some(a => a.ownerOf && ownerApprovalFrom.includes(a.ownerOf));
  const missing: string[] = [];
  if (counted.length < required) {
    missing.push(
      `${required - counted.length} more approval${
        required - counted.length === 1 ? '' : 's'
      } (${counted.length} of ${required})`,
    );
  }
  if (!ownerApproved) {
    missing.push(
      `an approval from a member of ${ownerApprovalFrom.join(
        ', ',
      )} (owners of affected services)`,
    );
  }
  return {
    counted,
    required,
    ownerApprovalFrom,
    ownerApproved,
    satisfied: missing.length === 0,
    missing,
  };
}
