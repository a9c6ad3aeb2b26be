import { FOUR_EYES_MESSAGE } from '@runbooks/plugin-runbooks-common';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { ConflictError, InputError, NotAllowedError } from '@backstage/errors';
import { RunbookEntityV1alpha1 } from '@runbooks/plugin-runbooks-common';
import { evaluateGate } from '../approvals/gate';
import { ownerRefOf, runbookDigest } from '../runbook';
import { ExecutionEvents } from './ExecutionEvents';
import { ExecutionStore } from './ExecutionStore';
import {
  Execution,
  ExecutionMode,
  KillSwitch,
  KillSwitchScope,
  StepRun,
} from './types';

/** A duration for people: "45 s", "30 min", "2 h 5 min". */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h${
    minutes % 60 ? ` ${minutes % 60} min` : ''
  }`;
}

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
      entityOwner: ownerRefOf(input.entity),
      runbookOwner: ownerRefOf(input.runbook as unknown as Entity),
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
    // the step that has not finished (current_step is only written when a run stops, so after a
    // crash it may still name an earlier step); none when every step finished
    const open = (await this.store.getSteps(id)).find(
      s => !['succeeded', 'skipped', 'failed', 'cancelled'].includes(s.status),
    );
    const idle = await this.store.transitionIdle(
      id,
      ['queued', 'waiting-approval', 'needs-attention'],
      {
        status: 'cancelled',
        statusMessage: `Cancelled by ${by}${
          open?.status === 'running' && open.phase === 'apply'
            ? `; step '${open.stepId}' was applying when its worker stopped and may have partly run`
            : ''
        }`,
        ...(open ? { currentStep: open.stepIndex } : {}),
      },
      open
        ? {
            index: open.stepIndex,
            patch: { status: 'cancelled', finishedAt: new Date() },
          }
        : undefined,
      { type: 'cancelled', payload: { by, step: open?.stepIndex } },
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
   * A person's decision on the plan of the step an execution waits on, recorded with the plan
   * digest it is about (a plan that changed since cannot be decided by it) and serialised with
   * every other decision on that step. The caller has checked the decider's permission just now.
   * Requesters never approve their own executions; an approval request older than the expiry is
   * sent back for a fresh plan; a rejection ends the execution. Deciding the same way twice
   * records nothing new.
   */
  async decide(input: {
    id: string;
    stepIndex: number;
    planDigest: string;
    decision: 'approved' | 'rejected';
    decidedBy: string;
    /** The decider's ownership refs (their user and groups), for owner-approval rules. */
    claims?: string[];
    comment?: string;
    /** `remaining`: also approve every later step whose plan is already known. */
    scope?: 'step' | 'remaining';
  }): Promise<Execution> {
    const now = new Date();
    const ttl = this.options.approvalTtlMs;
    const written = await this.store.decideGate(
      input.id,
      input.stepIndex,
      ({ execution, step, approvals }) => {
        const stepId = step.stepId;
        if (step.status !== 'waiting-approval') {
          throw new ConflictError(
            `Step '${stepId}' of execution ${input.id} is ${step.status}, not waiting for approval`,
          );
        }
        const event = (type: string, extra: Record<string, unknown> = {}) => ({
          type,
          payload: {
            step: input.stepIndex,
            stepId,
            by: input.decidedBy,
            planDigest: input.planDigest,
            comment: input.comment,
            ...extra,
          },
        });
        if (input.decision === 'rejected') {
          // a "no" always stands: whatever the plan's age or digest, the execution ends here
          const reason = `rejected by ${input.decidedBy}${
            input.comment ? `: ${input.comment}` : ''
          }`;
          return {
            approvals: [
              {
                stepIndex: input.stepIndex,
                attempt: step.attempt,
                planDigest: input.planDigest,
                decidedBy: input.decidedBy,
                decision: 'rejected',
                comment: input.comment,
              },
            ],
            execution: {
              status: 'failed',
              statusMessage: `Step '${stepId}' ${reason}`,
            },
            step: { status: 'failed', error: reason, finishedAt: now },
            event: event('rejected', { currentPlanDigest: step.planDigest }),
          };
        }
        if (step.planDigest !== input.planDigest) {
          throw new ConflictError(
            `The plan of step '${stepId}' is ${step.planDigest}, not ${input.planDigest}: review the current plan`,
          );
        }
        const requestedAt = this.approvalRequestedAt(execution, step);
        if (this.approvalExpiresAt(execution, step).getTime() < now.getTime()) {
          // too old to approve: the state may have moved on; the worker plans again and asks again
          return {
            execution: { status: 'queued' },
            event: {
              type: 'approval-expired',
              payload: {
                step: input.stepIndex,
                stepId,
                planDigest: step.planDigest,
                requestedAt: requestedAt.toISOString(),
              },
            },
            refusal: `The approval request for step '${stepId}' expired: it was made at ${requestedAt.toISOString()} and is valid for ${formatDuration(
              ttl,
            )}. A fresh plan is being made; review and approve that one when it is ready`,
          };
        }
        if (input.decidedBy === execution.requester) {
          throw new NotAllowedError(FOUR_EYES_MESSAGE);
        }
        if (input.scope === 'remaining') {
          this.assertRemainingPlansKnown(execution, input.stepIndex);
        }
        const gateInput = {
          radius: step.blastRadius,
          requester: execution.requester,
          planDigest: step.planDigest,
          attempt: step.attempt,
          now,
        };
        const before = evaluateGate({ ...gateInput, approvals });
        if (before.counted.some(a => a.decidedBy === input.decidedBy)) {
          return { duplicate: true };
        }
        const ownerOf = before.ownerApprovalFrom.find(ref =>
          (input.claims ?? []).includes(ref),
        );
        if (
          !before.ownerApproved &&
          !ownerOf &&
          before.counted.length + 1 >= before.required
        ) {
          throw new NotAllowedError(
            `Step '${stepId}' needs ${before.missing.join(
              ' and ',
            )}; you are not a member of ${before.ownerApprovalFrom.join(
              ', ',
            )}, so your approval cannot complete it`,
          );
        }
        const approval = {
          stepIndex: input.stepIndex,
          attempt: step.attempt,
          planDigest: input.planDigest,
          decidedBy: input.decidedBy,
          decision: 'approved' as const,
          comment: input.comment,
          ownerOf,
          expiresAt: new Date(now.getTime() + ttl),
        };
        const after = evaluateGate({
          ...gateInput,
          approvals: [
            ...approvals,
            { ...approval, id: '', executionId: input.id, createdAt: now },
          ],
        });
        return {
          approvals: [approval],
          ...(after.satisfied
            ? { execution: { status: 'queued' as const } }
            : {}),
          event: event('approved', {
            ownerOf,
            approvals: after.counted.length,
            required: after.required,
            satisfied: after.satisfied,
            missing: after.missing,
          }),
        };
      },
    );
    if (written.seq !== undefined) {
      this.options.events.notify(input.id, written.seq);
    }
    if (written.execution?.status === 'queued') this.options.wake();
    if (written.refusal) throw new ConflictError(written.refusal);
    return this.store.getExecution(input.id);
  }

  /** When the approval request of a waiting step expires. */
  approvalExpiresAt(execution: Execution, step: StepRun): Date {
    return new Date(
      this.approvalRequestedAt(execution, step).getTime() +
        this.options.approvalTtlMs,
    );
  }

  /** When a step asked for approval (older records: when it started, or the execution was made). */
  approvalRequestedAt(execution: Execution, step: StepRun): Date {
    return step.approvalRequestedAt ?? step.startedAt ?? execution.createdAt;
  }

  /**
   * Sends every approval request older than the expiry back for a fresh plan, so nobody is asked
   * to approve a plan the state may have left behind. Returns how many it sent back.
   */
  async expireStaleApprovalRequests(now = new Date()): Promise<number> {
    let expired = 0;
    for (const { execution, step } of await this.store.listWaitingGates()) {
      const expiresAt = this.approvalExpiresAt(execution, step);
      if (expiresAt.getTime() > now.getTime()) continue;
      try {
        const written = await this.store.decideGate(
          execution.id,
          step.stepIndex,
          current => {
            if (current.step.attempt !== step.attempt) {
              throw new ConflictError('planned again meanwhile');
            }
            return {
              execution: { status: 'queued' },
              event: {
                type: 'approval-expired',
                payload: {
                  step: step.stepIndex,
                  stepId: step.stepId,
                  planDigest: step.planDigest,
                  expiredAt: expiresAt.toISOString(),
                },
              },
            };
          },
        );
        if (written.seq !== undefined) {
          this.options.events.notify(execution.id, written.seq);
        }
        expired++;
      } catch (e) {
        // decided or changed meanwhile: nothing to expire
        if (!(e instanceof ConflictError)) throw e;
      }
    }
    if (expired > 0) this.options.wake();
    return expired;
  }

  /**
   * "Approve all remaining steps" stands only for plans a person has seen: every later step that
   * changes something must already have its plan. The engine plans a step just before it runs, so
   * this holds when the waiting step is the last one that changes anything.
   */
  private assertRemainingPlansKnown(execution: Execution, stepIndex: number) {
    const runbook = execution.runbookContent as RunbookEntityV1alpha1;
    const unplanned = runbook.spec.steps
      .slice(stepIndex + 1)
      .filter(s => s.mutates)
      .map(s => s.id);
    if (unplanned.length > 0) {
      throw new ConflictError(
        `Cannot approve all remaining steps: the plans of ${unplanned
          .map(id => `'${id}'`)
          .join(
            ', ',
          )} are not known yet (a step is planned when the ones before it have run); approve this step alone`,
      );
    }
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
