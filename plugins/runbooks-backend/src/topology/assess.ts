import { parseEntityRef } from '@backstage/catalog-model';
import {
  AffectedEntity,
  BlastRadius,
  BlastRadiusAction,
  BlastRadiusLevel,
  RunbookStep,
} from '@runbooks/plugin-runbooks-common';
import { ToolPlan } from '@runbooks/plugin-runbooks-node';
import {
  ACTIONS,
  BlastRadiusMeasures,
  BlastRadiusPolicy,
  BlastRadiusThresholdLevel,
  LEVELS,
} from './config';
import { TopologyWalk } from './CatalogTopology';

/**
 * What `assessBlastRadius` decides from.
 * @public
 */
export interface BlastRadiusInput extends TopologyWalk {
  plan: ToolPlan;
  step: RunbookStep;
  /** The runbook's own `spec.blastRadius.actions`: it can only make the policy stricter. */
  runbookPolicy?: Partial<Record<BlastRadiusLevel, BlastRadiusAction>>;
  policy: BlastRadiusPolicy;
  /** Why the catalog graph could not be read, when it could not: the level is then at least high. */
  unknownGraph?: string;
}

const APPROVALS: Record<BlastRadiusAction, number> = {
  run: 0,
  approve: 1,
  'two-approvals': 2,
  refuse: 0,
};

const UNITS: Record<keyof BlastRadiusMeasures, [string, string]> = {
  dependents: ['dependent', 'dependents'],
  objects: ['object', 'objects'],
  hosts: ['host', 'hosts'],
};

const rank = <T>(order: T[], value: T) => order.indexOf(value);
const higher = (a: BlastRadiusLevel, b: BlastRadiusLevel) =>
  rank(LEVELS, a) >= rank(LEVELS, b) ? a : b;
const count = (n: number, measure: keyof BlastRadiusMeasures) =>
  `${n} ${UNITS[measure][n === 1 ? 0 : 1]}`;

function nameOf(entityRef: string): string {
  try {
    return parseEntityRef(entityRef).name;
  } catch {
    return entityRef;
  }
}

function listed(names: string[], max = 5): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** Distinct host names in the plan: `changes[].host` and a `hosts` list (Ansible plans have both). */
function planHosts(plan: ToolPlan): string[] {
  const hosts = new Set<string>();
  for (const change of plan.changes ?? []) {
    if (typeof change.host === 'string') hosts.add(change.host);
  }
  if (Array.isArray(plan.hosts)) {
    for (const host of plan.hosts) {
      if (typeof host === 'string') hosts.add(host);
    }
  }
  return [...hosts].sort();
}

/**
 * Decides a mutating step's blast-radius level from what it reaches in the catalog and what its plan
 * changes, and the action the policy (made stricter, never looser, by the runbook) requires for it.
 * @public
 */
export function assessBlastRadius(input: BlastRadiusInput): BlastRadius {
  const { plan, step, runbookPolicy, policy } = input;
  const reasons: string[] = [];

  const affected: AffectedEntity[] = input.affected.map(entity => ({
    ...entity,
    counted: !(
      entity.lifecycle !== undefined &&
      policy.ignoreLifecycles.includes(entity.lifecycle)
    ),
  }));
  const counted = affected.filter(e => e.counted);
  const hosts = planHosts(plan);
  const measures: BlastRadiusMeasures = {
    dependents: counted.length,
    // a tool that under-counts its objects is held to the changes it lists
    objects: Math.max(plan.objectCount, plan.changes?.length ?? 0),
    hosts: hosts.length,
  };
  const examples: Record<keyof BlastRadiusMeasures, string> = {
    dependents: counted.length
      ? ` (${listed(counted.map(e => nameOf(e.entityRef)))})`
      : '',
    objects: '',
    hosts: hosts.length ? ` (${listed(hosts)})` : '',
  };

  // the level each measure reaches on its own
  const reached = (measure: keyof BlastRadiusMeasures): BlastRadiusLevel => {
    const levels: BlastRadiusThresholdLevel[] = ['critical', 'high', 'medium'];
    return (
      levels.find(l => measures[measure] >= policy.thresholds[l][measure]) ??
      'low'
    );
  };
  const measureNames = Object.keys(measures) as Array<
    keyof BlastRadiusMeasures
  >;
  let level = measureNames.map(reached).reduce(higher, 'low');
  if (level === 'low') {
    reasons.push(
      `No measure reaches a medium threshold: ${measureNames
        .map(m => `${count(measures[m], m)} (< ${policy.thresholds.medium[m]})`)
        .join(', ')}.`,
    );
  } else {
    for (const m of measureNames.filter(x => reached(x) === level)) {
      reasons.push(
        `${count(measures[m], m)}${examples[m]} ≥ ${level} threshold ${
          policy.thresholds[level as BlastRadiusThresholdLevel][m]
        }.`,
      );
    }
  }
  const ignored = affected.filter(e => !e.counted);
  if (ignored.length > 0) {
    reasons.push(
      `Not counted, because of their lifecycle (${policy.ignoreLifecycles.join(
        ', ',
      )}): ${listed(ignored.map(e => nameOf(e.entityRef)))}.`,
    );
  }

  const critical = counted.filter(
    e => e.tier !== undefined && policy.criticalTiers.includes(e.tier),
  );
  if (critical.length > 0 && rank(LEVELS, level) < rank(LEVELS, 'high')) {
    level = 'high';
    reasons.push(
      `${listed(
        critical.map(e => `${nameOf(e.entityRef)} (tier ${e.tier})`),
      )} ${
        critical.length === 1 ? 'is' : 'are'
      } of a critical tier, so the level is at least high.`,
    );
  }
  if (input.unknownGraph) {
    if (rank(LEVELS, level) < rank(LEVELS, 'high')) level = 'high';
    reasons.push(
      `The catalog graph could not be read (${input.unknownGraph}), so the level is at least high.`,
    );
  } else if (input.truncated) {
    if (rank(LEVELS, level) < rank(LEVELS, 'high')) level = 'high';
    reasons.push(
      'The catalog graph walk stopped at its limit and more entities may be affected, so the level is at least high.',
    );
  }

  let action = policy.actions[level];
  reasons.push(`The blast-radius policy requires ${action} at level ${level}.`);
  const asked = runbookPolicy?.[level];
  if (asked && asked !== action) {
    if (rank(ACTIONS, asked) > rank(ACTIONS, action)) {
      reasons.push(
        `The runbook requires ${asked} at level ${level}, stricter than the policy's ${action}.`,
      );
      action = asked;
    } else {
      reasons.push(
        `The runbook asks for ${asked} at level ${level}, looser than the policy's ${action}; a runbook can only make the policy stricter, so it is ignored.`,
      );
    }
  }
  if (step.approval === 'always' && rank(ACTIONS, action) < 1) {
    action = 'approve';
    reasons.push('The step says approval: always, so it needs approval.');
  }

  let approvalsRequired = APPROVALS[action];
  if (approvalsRequired > 0 && policy.minApprovers > approvalsRequired) {
    reasons.push(
      `runbooks.approvals.minApprovers raises the approvals needed from ${approvalsRequired} to ${policy.minApprovers}.`,
    );
    approvalsRequired = policy.minApprovers;
  }

  let ownerApprovalFrom: string[] = [];
  if (action === 'two-approvals') {
    ownerApprovalFrom = [
      ...new Set(
        counted.map(e => e.owner).filter((o): o is string => Boolean(o)),
      ),
    ].sort();
    reasons.push(
      ownerApprovalFrom.length > 0
        ? `One approver must be a member of an owner of an affected entity: ${ownerApprovalFrom.join(
            ', ',
          )}.`
        : 'No counted affected entity has an owner, so the owner-approval requirement cannot apply.',
    );
  }

  return {
    level,
    action,
    approvalsRequired,
    ownerApprovalFrom,
    target: input.target,
    affected,
    measures,
    reasons,
    ...(input.truncated ? { truncated: true } : {}),
  };
}
