import { BlastRadius, RunbookStep } from '@runbooks/plugin-runbooks-common';
import { ToolPlan } from '@runbooks/plugin-runbooks-node';
import { Execution } from './types';

/** Decides, from a step's plan, how far a change reaches and what it needs before it applies. */
export interface BlastRadiusHook {
  assess(context: {
    execution: Execution;
    step: RunbookStep;
    stepIndex: number;
    plan: ToolPlan;
    planDigest: string;
  }): Promise<BlastRadius>;
}

/**
 * A blast-radius check that looks at nothing but the runbook: one approval where the step says
 * `approval: always`, none otherwise. For tests and tools that run the engine without a catalog;
 * the backend uses the topology-based check.
 */
export const stepDeclaredBlastRadius: BlastRadiusHook = {
  async assess({ step, execution, plan }) {
    const always = step.approval === 'always';
    return {
      level: always ? 'high' : 'low',
      action: always ? 'approve' : 'run',
      approvalsRequired: always ? 1 : 0,
      ownerApprovalFrom: [],
      target: { entityRef: execution.entityRef },
      affected: [],
      measures: { dependents: 0, objects: plan.objectCount, hosts: 0 },
      reasons: always ? ['the runbook requires approval for this step'] : [],
    };
  },
};
