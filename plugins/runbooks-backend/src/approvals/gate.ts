import {
  BlastRadius,
  FOUR_EYES_MESSAGE,
} from '@runbooks/plugin-runbooks-common';
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

/**
 * Why a person cannot give the approval a gate waits for, or undefined when they can (permission
 * aside): they requested the execution, their approval already counts, or the last approval must
 * come from an owner of an affected service and they are not a member of one.
 */
export function approvalRefusal(
  gate: GateState,
  input: { caller: string; requester: string; claims: string[] },
): string | undefined {
  if (input.caller === input.requester) return FOUR_EYES_MESSAGE;
  if (gate.counted.some(a => a.decidedBy === input.caller)) {
    return `You approved this plan; it still needs ${gate.missing.join(
      ' and ',
    )}.`;
  }
  const owner = gate.ownerApprovalFrom.some(ref => input.claims.includes(ref));
  if (
    !gate.ownerApproved &&
    !owner &&
    gate.counted.length + 1 >= gate.required
  ) {
    return `It needs ${gate.missing.join(
      ' and ',
    )}; you are not a member of ${gate.ownerApprovalFrom.join(
      ', ',
    )}, so your approval cannot complete it.`;
  }
  return undefined;
}
