import { createConditionExports } from '@backstage/plugin-permission-node';
import { runbookExecutionResourceRef, runbookExecutionRules } from './rules';

const exported = createConditionExports({
  resourceRef: runbookExecutionResourceRef,
  rules: runbookExecutionRules,
});

/**
 * Conditions over runbook executions for permission policies:
 * `runbookExecutionConditions.isRequester({ claims })`, `isEntityOwner({ claims })`,
 * `hasRunbookOwnership({ claims })`.
 * @public
 */
export const runbookExecutionConditions = exported.conditions;

/**
 * Wraps conditions over executions into a policy decision.
 * @public
 */
export const createRunbookExecutionConditionalDecision =
  exported.createConditionalDecision;
