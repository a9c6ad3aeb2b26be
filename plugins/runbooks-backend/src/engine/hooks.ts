import { RunbookStep } from '@runbooks/plugin-runbooks-common';
import { ToolPlan } from '@runbooks/plugin-runbooks-node';
import { Execution } from './types';

/** What the blast-radius check concludes about one mutating step. */
export interface BlastRadiusAssessment {
  /** Whether a person must approve the plan before it is applied. */
  requiresApproval: boolean;
  level: 'none' | 'low' | 'high';
  /** Entity refs the change may affect. */
  affected: string[];
  reason?: string;
}

/** Decides, from a step's plan, how far a change reaches and whether it needs approval. */
export interface BlastRadiusHook {
  assess(context: {
    execution: Execution;
    step: RunbookStep;
    stepIndex: number;
    plan: ToolPlan;
    planDigest: string;
  }): Promise<BlastRadiusAssessment>;
}

/**
 * The blast-radius check until the topology-based one lands: approval only where the runbook
 * says `approval: always`.
 */
export const stepDeclaredBlastRadius: BlastRadiusHook = {
  async assess({ step }) {
    return step.approval === 'always'
      ? {
          requiresApproval: true,
          level: 'high',
          affected: [],
          reason: 'the runbook requires approval for this step',
        }
      : { requiresApproval: false, level: 'none', affected: [] };
  },
};
