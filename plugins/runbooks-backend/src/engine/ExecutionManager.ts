import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { ConflictError, InputError, NotAllowedError } from '@backstage/errors';
import { RunbookEntityV1alpha1 } from '@runbooks/plugin-runbooks-common';
import { runbookDigest } from '../runbook';
import { ExecutionEvents } from './ExecutionEvents';
import { ExecutionStore } from './ExecutionStore';
import {
  Execution,
  ExecutionMode,
  KillSwitch,
  KillSwitchScope,
  StepRun,
} from './types';

/** An execution with its steps. */
export interface ExecutionDetails {
  execution: Execution;
  steps: StepRun[];
}

/** Raised when a kill switch refuses a new execution or a resume. */
export class KillSwitchEngagedError extends ConflictError {
  constructor(readonly switches: KillSwitch[]) {
    super(
      `Refused: ${switches
        .map(
          s =>
            `${
              s.scope === 'global' ? 'the global' : `the ${s.scope} ${s.target}`
            } kill switch is engaged (by ${s.engagedBy}: ${s.reason})`,
        )
        .join('; ')}`,
    );
  }
}

/**
 * What people do to executions: request one, cancel, decide on a plan, resume / skip / abort one
 * that needs attention, and engage or release kill switches. Workers do the running.
 */
export class ExecutionManager {
  constructor(
    private readonly options: {
      store: ExecutionStore;
      events: ExecutionEvents;
      /** Wakes the local worker so it claims new work at once. */
      wake: () => void;
      /** How long an approval stays valid. */
      approvalTtlMs: number;
    },
  ) {}

  private get store() {
    return this.options.store;
  }

  /** Records a requested execution; the runbook content and entity are stored as they are now. */
  async create(input: {
    runbook: RunbookEntityV1alpha1;
    entity: Entity;
    parameters: Record<string, unknown>;
    requester: string;
    mode: ExecutionMode;
  }): Promise<Execution> {
    const runbookRef = stringifyEntityRef({
      kind: 'Runbook',
      namespace: input.runbook.metadata.namespace ?? 'default',
      name: input.runbook.metadata.name,
    });
    const entityRef = stringifyEntityRef(input.entity);
    const switches = await this.store.findEngagedKillSwitches({
      entityRef,
      runbookRef,
    });
    if (switches.length > 0) throw new KillSwitchEngagedError(switches);
    const { relations, status, ...content } = input.runbook;
    const execution = await this.store.createExecution({
      runbookRef,
      runbookDigest: runbookDigest(input.runbook),
      runbookContent: content,
      entityRef,
      entitySnapshot: input.entity,
      parameters: input.parameters,
      requester: input.requester,
      mode: input.mode,
      stepIds: input.runbook.spec.steps.map(s => s.id),
    });
    this.options.wake();
    return execution;
  }

  async get(id: string): Promise<ExecutionDetails> {
    const execution = await this.store.getExecution(id);
    return { execution, steps: await this.store.getSteps(id) };
  }

  /** Cancels at once when no worker holds the execution; otherwise asks its worker to stop it. */
  async cancel(id: string, by: string): Promise<Execution> {
    const execution = await this.store.getExecution(id);
    const idle = await this.store.transitionIdle(
      id,
      ['queued', 'waiting-approval', 'needs-attention'],
      { status: 'cancelled', statusMessage: `Cancelled by ${by}` },
      {
        index: execution.currentStep,
        patch: { status: 'cancelled', finishedAt: new Date() },
      },
      { type: 'cancelled', payload: { by, step: execution.currentStep } },
    );
    if (idle !== false) {
      this.options.events.notify(id, idle);
    } else if (!(await this.store.requestCancel(id, by))) {
      const now = await this.store.getExecution(id);
      throw new ConflictError(
        `Execution ${id} is ${now.status} and cannot be cancelled`,
      );
    }
    return this.store.getExecution(id);
  }

  /**
   * A person's decision on the plan of the step an execution waits on. The decision names the plan
   * digest it is about: a plan that changed since cannot be approved by it. Requesters cannot
   * approve their own executions.
   */
  async decide(input: {
    id: string;
    stepIndex: number;
    planDigest: string;
    decision: 'approved' | 'rejected';
    decidedBy: string;
    comment?: string;
  }): Promise<Execution> {
    const { execution, steps } = await this.get(input.id);
    const step = steps[input.stepIndex];
    if (
      execution.status !== 'waiting-approval' ||
      execution.currentStep !== input.stepIndex ||
      step?.status !== 'waiting-approval'
    ) {
      throw new ConflictError(
        `Execution ${input.id} is not waiting for a decision on step ${input.stepIndex}`,
      );
    }
    if (step.planDigest !== input.planDigest) {
      throw new ConflictError(
        `The plan of step '${step.stepId}' is ${step.planDigest}, not ${input.planDigest}: review the current plan`,
      );
    }
    if (
      input.decision === 'approved' &&
      input.decidedBy === execution.requester
    ) {
      throw new NotAllowedError(
        'You requested this execution; another person must approve it (four-eyes rule)',
      );
    }
    await this.store.addApproval({
      executionId: input.id,
      stepIndex: input.stepIndex,
      planDigest: input.planDigest,
      decidedBy: input.decidedBy,
      decision: input.decision,
      comment: input.comment,
      expiresAt:
        input.decision === 'approved'
          ? new Date(Date.now() + this.options.approvalTtlMs)
          : undefined,
    });
    const event = {
      type: input.decision,
      payload: {
        step: input.stepIndex,
        stepId: step.stepId,
        by: input.decidedBy,
        planDigest: input.planDigest,
        comment: input.comment,
      },
    };
    const moved =
      input.decision === 'approved'
        ? await this.store.transitionIdle(
            input.id,
            ['waiting-approval'],
            { status: 'queued', statusMessage: null },
            undefined,
            event,
          )
        : await this.store.transitionIdle(
            input.id,
            ['waiting-approval'],
            {
              status: 'failed',
              statusMessage: `Step '${step.stepId}' rejected by ${
                input.decidedBy
              }${input.comment ? `: ${input.comment}` : ''}`,
            },
            {
              index: input.stepIndex,
              patch: {
                status: 'failed',
                error: `rejected by ${input.decidedBy}`,
                finishedAt: new Date(),
              },
            },
            event,
          );
    if (moved === false) {
      throw new ConflictError(
        `Execution ${input.id} changed while deciding; look again`,
      );
    }
    this.options.events.notify(input.id, moved);
    if (input.decision === 'approved') this.options.wake();
    return this.store.getExecution(input.id);
  }

  /**
   * For an execution that needs attention: `resume` runs the stopped step again from its start
   * (a fresh dry-run and, where needed, a fresh approval), `skip` marks it skipped and goes on,
   * `abort` ends the execution as failed.
   */
  async resolveAttention(
    id: string,
    action: 'resume' | 'skip' | 'abort',
    by: string,
  ): Promise<Execution> {
    const execution = await this.store.getExecution(id);
    if (execution.status !== 'needs-attention') {
      throw new ConflictError(
        `Execution ${id} is ${execution.status}, not needs-attention`,
      );
    }
    if (action !== 'abort') {
      const switches = await this.store.findEngagedKillSwitches({
        entityRef: execution.entityRef,
        runbookRef: execution.runbookRef,
        executionId: id,
      });
      if (switches.length > 0) throw new KillSwitchEngagedError(switches);
    }
    const index = execution.currentStep;
    const now = new Date();
    const transitions = {
      resume: {
        patch: { status: 'queued' as const, statusMessage: null },
        step: {
          status: 'pending' as const,
          phase: undefined,
          error: undefined,
        },
      },
      skip: {
        patch: {
          status: 'queued' as const,
          statusMessage: null,
          currentStep: index + 1,
        },
        step: {
          status: 'skipped' as const,
          error: `skipped by ${by}`,
          finishedAt: now,
        },
      },
      abort: {
        patch: { status: 'failed' as const, statusMessage: `Aborted by ${by}` },
        step: {
          status: 'failed' as const,
          error: `aborted by ${by}`,
          finishedAt: now,
        },
      },
    }[action];
    const moved = await this.store.transitionIdle(
      id,
      ['needs-attention'],
      transitions.patch,
      {
        index,
        patch: transitions.step,
      },
      { type: `attention-${action}`, payload: { by, step: index } },
    );
    if (moved === false) {
      throw new ConflictError(`Execution ${id} changed meanwhile; look again`);
    }
    this.options.events.notify(id, moved);
    if (action !== 'abort') this.options.wake();
    return this.store.getExecution(id);
  }

  async engageKillSwitch(input: {
    scope: KillSwitchScope;
    target?: string;
    reason: string;
    by: string;
  }): Promise<KillSwitch> {
    if (input.scope !== 'global' && !input.target) {
      throw new InputError(`A ${input.scope} kill switch needs a target`);
    }
    return this.store.engageKillSwitch({
      scope: input.scope,
      target: input.target ?? '',
      reason: input.reason,
      engagedBy: input.by,
    });
  }

  async releaseKillSwitch(id: string, by: string): Promise<KillSwitch> {
    return this.store.releaseKillSwitch(id, by);
  }
}
