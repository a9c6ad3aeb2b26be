import { RootConfigService } from '@backstage/backend-plugin-api';
import {
  BlastRadiusAction,
  BlastRadiusLevel,
} from '@runbooks/plugin-runbooks-common';

/**
 * The levels that have thresholds; `low` is what a change is below `medium`.
 * @public
 */
export type BlastRadiusThresholdLevel = Exclude<BlastRadiusLevel, 'low'>;

/**
 * The measures of a change a threshold applies to.
 * @public
 */
export interface BlastRadiusMeasures {
  /** Affected entities that count (dependents and parts, transitively). */
  dependents: number;
  /** Objects the plan changes. */
  objects: number;
  /** Distinct hosts the plan changes or targets. */
  hosts: number;
}

/**
 * How the backend turns a step's blast radius into a level and an action.
 * @public
 */
export interface BlastRadiusPolicy {
  /** A measure reaches a level when it is at least that level's threshold. */
  thresholds: Record<BlastRadiusThresholdLevel, BlastRadiusMeasures>;
  actions: Record<BlastRadiusLevel, BlastRadiusAction>;
  /** Affected entities with one of these lifecycles do not count. */
  ignoreLifecycles: string[];
  /** A counted affected entity of one of these tiers makes the level at least high. */
  criticalTiers: string[];
  /** Distinct approvers any approval needs, at least. */
  minApprovers: number;
}

/**
 * The policy when nothing is configured.
 * @public
 */
export const defaultBlastRadiusPolicy: BlastRadiusPolicy = {
  thresholds: {
    medium: { dependents: 1, objects: 5, hosts: 2 },
    high: { dependents: 3, objects: 20, hosts: 5 },
    critical: { dependents: 20, objects: 100, hosts: 20 },
  },
  actions: {
    low: 'run',
    medium: 'approve',
    high: 'two-approvals',
    critical: 'refuse',
  },
  ignoreLifecycles: ['experimental'],
  criticalTiers: ['1', 'tier-1', 'critical'],
  minApprovers: 1,
};

/** From least to most reach. */
export const LEVELS: BlastRadiusLevel[] = ['low', 'medium', 'high', 'critical'];
/** From least to most strict. */
export const ACTIONS: BlastRadiusAction[] = [
  'run',
  'approve',
  'two-approvals',
  'refuse',
];
const THRESHOLD_LEVELS: BlastRadiusThresholdLevel[] = [
  'medium',
  'high',
  'critical',
];
const MEASURES: Array<keyof BlastRadiusMeasures> = [
  'dependents',
  'objects',
  'hosts',
];

const quoted = (names: string[]) => names.map(n => `'${n}'`).join(', ');

/**
 * Reads `runbooks.blastRadius` and `runbooks.approvals.minApprovers`, on top of
 * {@link defaultBlastRadiusPolicy}. Throws an error naming the key of anything invalid.
 * @public
 */
export function readBlastRadiusPolicy(
  config: RootConfigService,
): BlastRadiusPolicy {
  const defaults = defaultBlastRadiusPolicy;
  const root = 'runbooks.blastRadius';
  const section = config.getOptionalConfig(root);

  const thresholds = {} as BlastRadiusPolicy['thresholds'];
  const thresholdsConfig = section?.getOptionalConfig('thresholds');
  for (const key of thresholdsConfig?.keys() ?? []) {
    if (!(THRESHOLD_LEVELS as string[]).includes(key)) {
      throw new Error(
        `Invalid config at ${root}.thresholds.${key}: unknown level '${key}'; levels with thresholds are ${quoted(
          THRESHOLD_LEVELS,
        )} (low is below medium)`,
      );
    }
  }
  for (const level of THRESHOLD_LEVELS) {
    const levelConfig = thresholdsConfig?.getOptionalConfig(level);
    for (const key of levelConfig?.keys() ?? []) {
      if (!(MEASURES as string[]).includes(key)) {
        throw new Error(
          `Invalid config at ${root}.thresholds.${level}.${key}: unknown measure '${key}'; measures are ${quoted(
            MEASURES,
          )}`,
        );
      }
    }
    thresholds[level] = { ...defaults.thresholds[level] };
    for (const measure of MEASURES) {
      const value = levelConfig?.getOptionalNumber(measure);
      if (value === undefined) continue;
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(
          `Invalid config at ${root}.thresholds.${level}.${measure}: must be a whole number of at least 1, not ${value}`,
        );
      }
      thresholds[level][measure] = value;
    }
  }
  for (const measure of MEASURES) {
    for (let i = 1; i < THRESHOLD_LEVELS.length; i++) {
      const lower = THRESHOLD_LEVELS[i - 1];
      const upper = THRESHOLD_LEVELS[i];
      if (thresholds[upper][measure] <= thresholds[lower][measure]) {
        throw new Error(
          `Invalid config at ${root}.thresholds.${upper}.${measure}: thresholds must increase from medium to critical, but ${upper} (${thresholds[upper][measure]}) is not above ${lower} (${thresholds[lower][measure]})`,
        );
      }
    }
  }

  const actions = { ...defaults.actions };
  const actionsConfig = section?.getOptionalConfig('actions');
  for (const key of actionsConfig?.keys() ?? []) {
    if (!(LEVELS as string[]).includes(key)) {
      throw new Error(
        `Invalid config at ${root}.actions.${key}: unknown level '${key}'; levels are ${quoted(
          LEVELS,
        )}`,
      );
    }
    const value = actionsConfig!.getString(key);
    if (!(ACTIONS as string[]).includes(value)) {
      throw new Error(
        `Invalid config at ${root}.actions.${key}: unknown action '${value}'; actions are ${quoted(
          ACTIONS,
        )}`,
      );
    }
    actions[key as BlastRadiusLevel] = value as BlastRadiusAction;
  }

  const minApprovers =
    config.getOptionalNumber('runbooks.approvals.minApprovers') ??
    defaults.minApprovers;
  if (!Number.isInteger(minApprovers) || minApprovers < 1) {
    throw new Error(
      `Invalid config at runbooks.approvals.minApprovers: must be a whole number of at least 1, not ${minApprovers}`,
    );
  }

  return {
    thresholds,
    actions,
    ignoreLifecycles:
      section?.getOptionalStringArray('ignoreLifecycles') ??
      defaults.ignoreLifecycles,
    criticalTiers:
      section?.getOptionalStringArray('criticalTiers') ??
      defaults.criticalTiers,
    minApprovers,
  };
}
