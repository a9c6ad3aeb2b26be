import { LoggerService } from '@backstage/backend-plugin-api';
import { isCelError, run as runCel } from '@bufbuild/cel';
import { failedPrecondition } from './preconditions';
import {
  BlastRadius,
  parseDuration,
  renderTemplate,
  RunbookCheck,
  RunbookEntityV1alpha1,
  RunbookStep,
} from '@runbooks/plugin-runbooks-common';
import {
  checkStepAgainstTool,
  ToolDescription,
  ToolInputValidator,
  ToolInvoker,
  ToolPlan,
  ToolResult,
} from '@runbooks/plugin-runbooks-node';
import { diff as jsonDiff } from 'jsondiffpatch';
import { isDeepStrictEqual } from 'node:util';
import { evaluateGate } from '../approvals/gate';
import { ClaimedExecution, ExecutionStore } from './ExecutionStore';
import { ExecutionEvents } from './ExecutionEvents';
import { BlastRadiusHook } from './hooks';
import { maskSecrets, secretValues, WITHHELD_OUTPUT } from './secrets';
import {
  Execution,
  ExecutionStatus,
  KillSwitch,
  StepRun,
  StepRunPatch,
} from './types';

/** Why a worker stopped an execution it was running. */
export type StopReason =
  | { kind: 'kill-switch'; switches: KillSwitch[] }
  | { kind: 'cancel'; by: string }
  | { kind: 'lease-lost' }
  | { kind: 'shutdown' };

/** Thrown inside a run when it must stop. */
export class RunStopped extends Error {
  constructor(readonly reason: StopReason) {
    super(`execution stopped: ${reason.kind}`);
    this.name = 'RunStopped';
  }
}

/** A tool call that threw (transport failure, timeout) rather than returning a result. */
class ToolCallError extends Error {
  constructor(tool: string, cause: unknown) {
    super(
      `${tool} did not answer: ${(cause as Error)?.message ?? String(cause)}`,
    );
    this.name = 'ToolCallError';
  }
}

/** How a worker controls a run: an abort signal whose reason is a StopReason. */
export interface RunControl {
  signal: AbortSignal;
  /** True when the worker is shutting down: the run hands the execution back at the next boundary. */
  stopping(): boolean;
}

/** What the runner needs. */
export interface ExecutionRunnerOptions {
  store: ExecutionStore;
  events: ExecutionEvents;
  tools: ToolInvoker;
  blastRadius: BlastRadiusHook;
  logger: LoggerService;
  workerId: string;
  /** Timeout of one tool call unless the step sets its own. */
  defaultStepTimeoutMs: number;
}

type StepOutcome = 'next' | 'stop';
type Outputs = Record<string, { output?: unknown }>;

interface StepContext {
  execution: Execution;
  runbook: RunbookEntityV1alpha1;
  step: RunbookStep;
  index: number;
  run: StepRun;
  outputs: Outputs;
  control: RunControl;
}

const FINISHED_STEP = ['succeeded', 'skipped', 'failed', 'cancelled'];

function describeSwitches(switches: KillSwitch[]): string {
  return switches
    .map(
      s =>
        `${
          s.scope === 'global' ? 'global' : `${s.scope} ${s.target}`
        } kill switch engaged by ${s.engagedBy}: ${s.reason}`,
    )
    .join('; ');
}

/**
 * Runs one claimed execution step by step through the lifecycle: render → validate → snapshot →
 * dry-run → blast radius → approval gate → apply (bound to the plan digest) → snapshot → diff →
 * verify. It stops at the first step that waits for a person, needs attention, or fails.
 */
export class ExecutionRunner {
  private readonly validator = new ToolInputValidator();
  /** Per running execution: secret values (parameters, secret outputs) masked in what is written. */
  private readonly secrets = new Map<string, string[]>();
  /** Per running execution: the values of secret outputs (never stored, so inputs are masked). */
  private readonly outputSecrets = new Map<string, string[]>();

  constructor(private readonly options: ExecutionRunnerOptions) {}

  async run(claimed: ClaimedExecution, control: RunControl): Promise<void> {
    const { store, events, workerId } = this.options;
    const execution = claimed.execution;
    const runbook = execution.runbookContent as RunbookEntityV1alpha1;
    const steps = await store.getSteps(execution.id);
    const outputs: Outputs = {};
    for (const s of steps) {
      if (s.status === 'succeeded') outputs[s.stepId] = { output: s.output };
    }
    this.secrets.set(execution.id, secretValues(execution));
    // the first step that has not finished; finished steps never run again
    let index = steps.findIndex(s => !FINISHED_STEP.includes(s.status));
    if (index < 0) index = steps.length;
    await events.append(
      execution.id,
      claimed.recovered ? 'recovered' : 'running',
      { worker: workerId, step: index },
    );
    try {
      for (; index < steps.length; index++) {
        const run = steps[index];
        if (FINISHED_STEP.includes(run.status)) continue;
        await this.boundary(execution, control, index);
        const outcome = await this.runStep({
          execution,
          runbook,
          step: runbook.spec.steps[index],
          index,
          run,
          outputs,
          control,
        });
        if (outcome === 'stop') return;
      }
      await this.finish(
        execution.id,
        {
          status: 'succeeded',
          currentStep: steps.length,
          statusMessage:
            execution.mode === 'dry-run'
              ? 'Dry-run complete: every step planned, nothing applied'
              : undefined,
        },
        'succeeded',
        { mode: execution.mode },
      );
    } catch (e) {
      await this.onStopped(execution, index, steps[index], e, control);
    } finally {
      this.secrets.delete(execution.id);
      this.outputSecrets.delete(execution.id);
    }
  }

  /** A value with the execution's secrets masked, for anything written, sent or logged. */
  private mask<T>(executionId: string, value: T): T {
    return maskSecrets(value, this.secrets.get(executionId) ?? []);
  }

  /** Remembers the string values of a secret output, so they are masked from now on. */
  private addSecrets(executionId: string, value: unknown) {
    const found: string[] = [];
    const walk = (v: unknown) => {
      if (
        (typeof v === 'string' || typeof v === 'number') &&
        `${v}`.length >= 4
      )
        found.push(`${v}`);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(value);
    for (const map of [this.secrets, this.outputSecrets]) {
      const known = map.get(executionId) ?? [];
      map.set(
        executionId,
        [...new Set([...known, ...found])].sort((a, b) => b.length - a.length),
      );
    }
  }

  /**
   * The output as stored: withheld for a step that declares `secretOutput`, known secrets masked
   * otherwise (later steps and verify still see the real value, in memory).
   */
  private storedOutput(ctx: StepContext, output: unknown): unknown {
    if (!ctx.step.secretOutput) return this.mask(ctx.execution.id, output);
    this.addSecrets(ctx.execution.id, output);
    return WITHHELD_OUTPUT;
  }

  private async checkKillSwitches(execution: Execution) {
    const switches = await this.options.store.findEngagedKillSwitches({
      entityRef: execution.entityRef,
      runbookRef: execution.runbookRef,
      executionId: execution.id,
    });
    if (switches.length > 0) {
      throw new RunStopped({ kind: 'kill-switch', switches });
    }
  }

  /** Checked before every step: the kill switch, a cancel request, a shutdown. */
  private async boundary(
    execution: Execution,
    control: RunControl,
    index: number,
  ) {
    const reason = control.signal.reason as StopReason | undefined;
    if (control.signal.aborted && reason) throw new RunStopped(reason);
    const stop = await this.options.store.checkStop({
      entityRef: execution.entityRef,
      runbookRef: execution.runbookRef,
      executionId: execution.id,
    });
    if (stop.switches.length > 0) {
      throw new RunStopped({ kind: 'kill-switch', switches: stop.switches });
    }
    if (stop.cancelRequestedBy) {
      throw new RunStopped({ kind: 'cancel', by: stop.cancelRequestedBy });
    }
    if (control.stopping()) {
      await this.finish(
        execution.id,
        {
          status: 'queued',
          currentStep: index,
          statusMessage: 'Handed back by a worker that shut down',
        },
        'handed-back',
        { worker: this.options.workerId, step: index },
      );
      throw new RunStopped({ kind: 'shutdown' });
    }
  }

  private async onStopped(
    execution: Execution,
    index: number,
    run: StepRun | undefined,
    error: unknown,
    control: RunControl,
  ) {
    const { store, workerId, logger } = this.options;
    const reason: StopReason | undefined =
      error instanceof RunStopped
        ? error.reason
        : (control.signal.reason as StopReason | undefined);
    if (!reason || reason.kind === 'lease-lost' || reason.kind === 'shutdown') {
      if (!reason) {
        logger.error(
          this.mask(
            execution.id,
            `Execution ${execution.id} failed unexpectedly: ${
              (error as Error)?.stack ?? error
            }`,
          ),
        );
      }
      // nothing may be written without the lease; another worker recovers it after expiry
      return;
    }
    const current = run
      ? (await store.getSteps(execution.id))[index]
      : undefined;
    const midApply = current?.status === 'running' && current.phase === 'apply';
    try {
      if (reason.kind === 'kill-switch') {
        const message = `Stopped: ${describeSwitches(
          reason.switches,
        )}. Release it, then resume.${
          midApply
            ? ` Step '${
                current!.stepId
              }' was aborted during its apply: check its state before resuming.`
            : ''
        }`;
        if (current && current.status === 'running') {
          await store.updateStep(execution.id, index, workerId, {
            status: midApply ? 'needs-attention' : 'pending',
            error: midApply
              ? 'aborted by the kill switch during apply; state unknown'
              : undefined,
          });
        }
        await this.finish(
          execution.id,
          {
            status: 'needs-attention',
            statusMessage: message,
            currentStep: index,
          },
          'kill-switch',
          {
            step: index,
            switches: reason.switches.map(s => s.id),
            message,
          },
        );
      } else {
        const message = `Cancelled by ${reason.by}${
          midApply
            ? ` during the apply of step '${
                current!.stepId
              }'; it may have partly run`
            : ''
        }`;
        if (current && !FINISHED_STEP.includes(current.status)) {
          await store.updateStep(execution.id, index, workerId, {
            status: 'cancelled',
            finishedAt: new Date(),
            error: message,
          });
        }
        await this.finish(
          execution.id,
          {
            status: 'cancelled',
            statusMessage: message,
            currentStep: index,
          },
          'cancelled',
          {
            by: reason.by,
            step: index,
          },
        );
      }
    } catch (e) {
      logger.warn(
        this.mask(
          execution.id,
          `Could not record the stop of execution ${execution.id}: ${e}`,
        ),
      );
    }
  }

  /** Ends this worker's run of an execution, with its event in the same transaction. */
  private async finish(
    executionId: string,
    patch: {
      status: ExecutionStatus;
      statusMessage?: string;
      currentStep?: number;
    },
    type: string,
    payload: Record<string, unknown>,
  ) {
    const seq = await this.options.store.finishRun(
      executionId,
      this.options.workerId,
      this.mask(executionId, patch),
      { type, payload: this.mask(executionId, payload) },
    );
    this.options.events.notify(executionId, seq);
  }

  /** Records a change of the step, with its event when given, in one write. */
  private async update(
    ctx: StepContext,
    patch: StepRunPatch,
    event?: { type: string; payload: Record<string, unknown> },
  ) {
    // the rendered input keeps its secret parameters (the apply needs them; the API masks them);
    // secret outputs are never stored anywhere (plans, snapshots, diffs), and errors and events
    // never hold any secret
    const outputSecrets = this.outputSecrets.get(ctx.execution.id) ?? [];
    const masked = maskSecrets(patch, outputSecrets);
    const written =
      masked.error === undefined
        ? masked
        : { ...masked, error: this.mask(ctx.execution.id, masked.error) };
    const seq = await this.options.store.updateStep(
      ctx.execution.id,
      ctx.index,
      this.options.workerId,
      written,
      event && {
        ...event,
        payload: this.mask(ctx.execution.id, event.payload),
      },
    );
    Object.assign(ctx.run, patch);
    this.options.events.notify(ctx.execution.id, seq);
  }

  private async runStep(ctx: StepContext): Promise<StepOutcome> {
    const { run } = ctx;
    try {
      if (run.status === 'running' && run.phase === 'apply') {
        return await this.recoverApply(ctx);
      }
      if (run.status === 'running' && run.phase === 'verify') {
        // the apply returned and its output was recorded: only the verification is left
        return await this.verifyAndFinish(
          ctx,
          run.output,
          run.before,
          run.after,
        );
      }
      if (run.status === 'waiting-approval') {
        return await this.afterApproval(ctx);
      }
      // pending, or interrupted before its apply (render, snapshot, dry-run): free of side effects
      return await this.startStep(ctx);
    } catch (e) {
      if (!(e instanceof ToolCallError)) throw e;
      if (ctx.run.phase === 'apply') {
        return this.attention(
          ctx,
          `Step '${ctx.step.id}': ${e.message} during its apply, so it may have partly run. Check it, then resume (runs it again), skip or abort.`,
        );
      }
      return this.fail(ctx, e.message);
    }
  }

  private async startStep(ctx: StepContext): Promise<StepOutcome> {
    const { step, execution } = ctx;
    if (
      execution.mode === 'dry-run' &&
      !step.mutates &&
      ctx.runbook.spec.steps.slice(0, ctx.index).some(s => s.mutates)
    ) {
      // it would observe (or wait for) the state after a change that was only planned
      const reason =
        'not run in a dry-run: it reads the state after a change that was only planned';
      await this.update(
        ctx,
        {
          status: 'skipped',
          phase: 'done',
          error: reason,
          finishedAt: new Date(),
        },
        {
          type: 'step-skipped',
          payload: { step: ctx.index, stepId: step.id, reason },
        },
      );
      return 'next';
    }
    let input: Record<string, unknown> | undefined;
    let renderError: string | undefined;
    try {
      input = renderTemplate<Record<string, unknown>>(step.input, {
        parameters: execution.parameters,
        entity: execution.entitySnapshot,
        steps: ctx.outputs,
      });
    } catch (e) {
      renderError = `input could not be rendered: ${(e as Error).message}`;
    }
    // a secret output an input carries is not stored (the value is only in this run's memory)
    const storedInput = maskSecrets(
      input,
      this.outputSecrets.get(execution.id) ?? [],
    );
    await this.update(
      ctx,
      {
        status: 'running',
        phase: 'render',
        attempt: ctx.run.attempt + 1,
        startedAt: new Date(),
        error: undefined,
        input: storedInput,
      },
      {
        type: 'step-started',
        payload: {
          step: ctx.index,
          stepId: step.id,
          attempt: ctx.run.attempt + 1,
        },
      },
    );
    if (!input) return this.fail(ctx, renderError!);

    // before the first change that happens: no earlier mutating step succeeded (one a person
    // skipped, or that failed and let the execution go on, changed nothing we may count on)
    const firstChange =
      step.mutates &&
      !ctx.runbook.spec.steps
        .slice(0, ctx.index)
        .some(s => s.mutates && ctx.outputs[s.id] !== undefined);
    if (firstChange) {
      // the runbook's assumptions about the system, checked against what its read steps saw,
      // before anything changes (in a dry-run too: it shows the same refusal early)
      const failed = failedPrecondition(ctx.runbook.spec.preconditions ?? [], {
        parameters: execution.parameters,
        entity: execution.entitySnapshot,
        steps: ctx.outputs,
      });
      // whatever the step's onFailure says: a runbook's assumptions do not hold, nothing may change
      if (failed) return this.fail(ctx, failed, { final: true });
    }

    const tool = await this.describe(ctx);
    if (!tool) {
      return this.fail(ctx, `no configured tool server offers ${step.tool}`);
    }
    const problems = this.validator.problems(tool, input);
    if (problems.length > 0) {
      return this.fail(
        ctx,
        `input rejected by ${step.tool}'s schema: ${problems.join('; ')}`,
      );
    }
    const mismatch = checkStepAgainstTool(step, tool);
    if (mismatch) return this.fail(ctx, mismatch);

    if (!step.mutates) {
      const result = await this.invoke(ctx, tool, input, { dryRun: false });
      if (result.error) return this.fail(ctx, `${step.tool}: ${result.error}`);
      return this.verifyAndFinish(ctx, result.output, undefined, undefined);
    }

    // snapshot and dry-run change nothing: they are recorded with the plan, in one write
    const before = tool.supportsSnapshot
      ? await this.snapshot(ctx, input)
      : undefined;
    const planned = await this.invoke(ctx, tool, input, { dryRun: true });
    if (planned.error)
      return this.fail(ctx, `dry-run of ${step.tool}: ${planned.error}`);
    if (!planned.plan || !planned.planDigest) {
      return this.fail(
        ctx,
        `dry-run of ${step.tool} returned no plan and digest`,
      );
    }
    const radius = await this.assessRadius(
      ctx,
      planned.plan,
      planned.planDigest,
    );
    if (!radius) {
      // without a radius nobody can say who must approve: change nothing
      return this.fail(
        ctx,
        'the blast-radius check failed (see the backend log), so the step did not run; try again',
      );
    }
    await this.update(
      ctx,
      {
        phase: 'dry-run',
        before,
        plan: planned.plan,
        planDigest: planned.planDigest,
        blastRadius: radius,
      },
      {
        type: 'step-planned',
        payload: {
          step: ctx.index,
          stepId: step.id,
          planDigest: planned.planDigest,
          objectCount: planned.plan.objectCount,
          blastRadius: {
            level: radius.level,
            action: radius.action,
            approvalsRequired: radius.approvalsRequired,
            affected: radius.affected.map(a => a.entityRef),
          },
        },
      },
    );

    if (execution.mode === 'dry-run') {
      return this.succeed(ctx, { output: planned.plan });
    }
    if (radius.action === 'refuse') {
      return this.fail(
        ctx,
        `refused by the blast-radius policy (${
          radius.level
        }): ${radius.reasons.join('; ')}`,
      );
    }
    if (radius.approvalsRequired > 0) {
      if (!isDeepStrictEqual(storedInput, input)) {
        return this.fail(
          ctx,
          `step '${step.id}' needs approval, but its input carries a secret output of an earlier step, which is never stored: it cannot wait for a decision. Give the secret as a secret parameter instead, or lower the step's blast radius.`,
        );
      }
      await this.update(ctx, {
        status: 'waiting-approval',
        phase: 'approval',
        approvalRequestedAt: new Date(),
      });
      const message = `Step '${step.id}' waits for ${
        radius.approvalsRequired === 1
          ? 'an approval'
          : `${radius.approvalsRequired} approvals`
      } of plan ${planned.planDigest} (blast radius ${radius.level}${
        radius.ownerApprovalFrom.length > 0
          ? `; one from ${radius.ownerApprovalFrom.join(' or ')}`
          : ''
      })`;
      await this.finish(
        execution.id,
        {
          status: 'waiting-approval',
          statusMessage: message,
          currentStep: ctx.index,
        },
        'approval-requested',
        {
          step: ctx.index,
          stepId: step.id,
          attempt: ctx.run.attempt,
          planDigest: planned.planDigest,
          level: radius.level,
          approvalsRequired: radius.approvalsRequired,
          ownerApprovalFrom: radius.ownerApprovalFrom,
          affected: radius.affected.map(a => a.entityRef),
          reasons: radius.reasons,
        },
      );
      return 'stop';
    }
    return this.apply(ctx, tool, input, planned.planDigest, before);
  }

  /** The step's blast radius; undefined (the step failed) when the check itself broke. */
  private async assessRadius(
    ctx: StepContext,
    plan: ToolPlan,
    planDigest: string,
  ): Promise<BlastRadius | undefined> {
    try {
      return await this.options.blastRadius.assess({
        execution: ctx.execution,
        step: ctx.step,
        stepIndex: ctx.index,
        plan,
        planDigest,
      });
    } catch (e) {
      this.options.logger.error(
        this.mask(
          ctx.execution.id,
          `Blast radius check of step '${ctx.step.id}' of execution ${ctx.execution.id} failed: ${e}`,
        ),
      );
      return undefined;
    }
  }

  private async afterApproval(ctx: StepContext): Promise<StepOutcome> {
    const approvals = await this.options.store.listApprovals(
      ctx.execution.id,
      ctx.index,
    );
    const gate = evaluateGate({
      radius: ctx.run.blastRadius,
      approvals,
      requester: ctx.execution.requester,
      planDigest: ctx.run.planDigest,
      attempt: ctx.run.attempt,
      now: new Date(),
    });
    if (!gate.satisfied) {
      // no approval that still holds for this plan: plan afresh and ask again
      return this.startStep(ctx);
    }
    const tool = await this.describe(ctx);
    if (!tool)
      return this.fail(
        ctx,
        `no configured tool server offers ${ctx.step.tool}`,
      );
    await this.options.events.append(ctx.execution.id, 'step-approved', {
      step: ctx.index,
      stepId: ctx.step.id,
      approvedBy: gate.counted.map(a => a.decidedBy),
      planDigest: ctx.run.planDigest,
    });
    return this.apply(
      ctx,
      tool,
      ctx.run.input as Record<string, unknown>,
      ctx.run.planDigest!,
      ctx.run.before,
    );
  }

  /** A step that started its apply before a crash: re-run only when that cannot do harm twice. */
  private async recoverApply(ctx: StepContext): Promise<StepOutcome> {
    const { step, run } = ctx;
    const tool = await this.describe(ctx);
    if (!tool)
      return this.fail(ctx, `no configured tool server offers ${step.tool}`);
    const input = run.input as Record<string, unknown>;
    // both must say so: a tool that does not declare idempotentHint is treated as non-idempotent
    if (step.idempotent && tool.annotations?.idempotentHint === true) {
      // the approval holds for one plan: re-plan to learn whether that plan still stands
      const fresh = await this.invoke(ctx, tool, input, { dryRun: true });
      if (!fresh.error && fresh.planDigest === run.planDigest) {
        await this.options.events.append(ctx.execution.id, 'step-retried', {
          step: ctx.index,
          stepId: step.id,
          reason:
            'the step is idempotent and its approved plan still stands; its apply is repeated with the same idempotency key',
        });
        return this.apply(ctx, tool, input, run.planDigest!, run.before);
      }
      if (!fresh.error && fresh.plan && fresh.plan.changes.length === 0) {
        await this.options.events.append(ctx.execution.id, 'step-recovered', {
          step: ctx.index,
          stepId: step.id,
          reason:
            'the state already shows the change (the fresh plan changes nothing): the apply had completed',
        });
        const after = tool.supportsSnapshot
          ? await this.snapshot(ctx, input)
          : undefined;
        await this.update(ctx, {
          after,
          diff: tool.supportsSnapshot
            ? jsonDiff(run.before, after) ?? null
            : undefined,
          phase: 'verify',
        });
        const problem = this.verify(step.verify ?? [], {
          output: null,
          parameters: ctx.execution.parameters,
          entity: ctx.execution.entitySnapshot,
          before: run.before ?? null,
          after: after ?? null,
        });
        if (problem) {
          return this.attention(
            ctx,
            `Step '${step.id}': the state shows its change in place, but its verify could not confirm it without the apply's output, lost with the worker (${problem}). Check it, then skip (done) or abort.`,
          );
        }
        return this.succeed(ctx, { output: null });
      }
      return this.attention(
        ctx,
        `Step '${
          step.id
        }' was applying when its worker stopped, and its plan differs from the approved one now${
          fresh.error ? ` (${fresh.error})` : ''
        }: the change may have partly run. Check it, then resume (re-plans and asks again), skip or abort.`,
      );
    }
    if (tool.supportsSnapshot && run.before !== undefined) {
      // a worker that lost its lease may still be inside the call: wait until it timed out
      await this.waitOutPreviousApply(ctx);
      const now = await this.snapshot(ctx, input);
      if (isDeepStrictEqual(now, run.before)) {
        await this.options.events.append(ctx.execution.id, 'step-retried', {
          step: ctx.index,
          stepId: step.id,
          reason:
            'the state is unchanged since before the apply, so the apply did not happen',
        });
        return this.apply(ctx, tool, input, run.planDigest!, run.before);
      }
      return this.attention(
        ctx,
        `Step '${step.id}' was applying when its worker stopped, and the state has changed since: it may have run. Check it, then resume (runs it again), skip or abort.`,
      );
    }
    return this.attention(
      ctx,
      `Step '${step.id}' was applying when its worker stopped; it is not idempotent and its tool offers no snapshot to prove it did not run. Check it, then resume (runs it again), skip or abort.`,
    );
  }

  /** Waits until the previous attempt's apply call, bounded by the step timeout, must be over. */
  private async waitOutPreviousApply(ctx: StepContext) {
    const events = await this.options.store.listEvents(ctx.execution.id);
    const applying = events
      .filter(e => e.type === 'step-applying' && e.payload.step === ctx.index)
      .at(-1);
    if (!applying) return; // the call is made only after this event: no event, no call
    const over = applying.createdAt.getTime() + this.timeoutMs(ctx.step) + 1000;
    const wait = over - Date.now();
    if (wait <= 0) return;
    await this.options.events.append(ctx.execution.id, 'step-recovery-wait', {
      step: ctx.index,
      stepId: ctx.step.id,
      waitMs: wait,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, wait);
      ctx.control.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(new RunStopped(ctx.control.signal.reason as StopReason));
        },
        { once: true },
      );
    });
  }

  private async apply(
    ctx: StepContext,
    tool: ToolDescription,
    input: Record<string, unknown>,
    planDigest: string,
    before: unknown,
  ): Promise<StepOutcome> {
    // a kill switch engaged since the step began stops the change before it starts
    await this.checkKillSwitches(ctx.execution);
    // recorded before the call: a crash from here on is a started apply (at-most-once)
    await this.update(
      ctx,
      { status: 'running', phase: 'apply' },
      {
        type: 'step-applying',
        payload: {
          step: ctx.index,
          stepId: ctx.step.id,
          planDigest,
        },
      },
    );
    const result = await this.invoke(ctx, tool, input, {
      dryRun: false,
      expectedPlanDigest: planDigest,
    });
    if (result.error)
      return this.fail(ctx, `${ctx.step.tool}: ${result.error}`);
    let after: unknown;
    if (tool.supportsSnapshot) {
      after = await this.snapshot(ctx, input);
    }
    const delta = tool.supportsSnapshot
      ? jsonDiff(before, after) ?? null
      : undefined;
    await this.update(ctx, {
      output: this.storedOutput(ctx, result.output),
      after,
      diff: delta,
      phase: 'verify',
    });
    return this.verifyAndFinish(ctx, result.output, before, after);
  }

  private async verifyAndFinish(
    ctx: StepContext,
    output: unknown,
    before: unknown,
    after: unknown,
  ): Promise<StepOutcome> {
    const problem = this.verify(ctx.step.verify ?? [], {
      output: output ?? null,
      parameters: ctx.execution.parameters,
      entity: ctx.execution.entitySnapshot,
      before: before ?? null,
      after: after ?? null,
    });
    if (problem) return this.fail(ctx, problem);
    return this.succeed(ctx, { output });
  }

  private verify(checks: RunbookCheck[], variables: Record<string, unknown>) {
    for (const check of checks) {
      const expression = typeof check === 'string' ? check : check.expression;
      const message = typeof check === 'string' ? undefined : check.message;
      const result = runCel(expression, variables as any);
      if (isCelError(result)) {
        return `verify '${expression}' could not be evaluated: ${result.message}`;
      }
      if (result !== true) {
        return `verify failed: ${
          message ?? expression
        } (${expression} is ${String(result)})`;
      }
    }
    return undefined;
  }

  private async succeed(
    ctx: StepContext,
    patch: { output: unknown },
  ): Promise<StepOutcome> {
    await this.update(
      ctx,
      {
        status: 'succeeded',
        phase: 'done',
        output: this.storedOutput(ctx, patch.output),
        finishedAt: new Date(),
      },
      {
        type: 'step-succeeded',
        payload: {
          step: ctx.index,
          stepId: ctx.step.id,
          dryRun: ctx.execution.mode === 'dry-run' && ctx.step.mutates,
        },
      },
    );
    ctx.outputs[ctx.step.id] = { output: patch.output };
    return 'next';
  }

  private async fail(
    ctx: StepContext,
    error: string,
    options: { final?: boolean } = {},
  ): Promise<StepOutcome> {
    await this.update(
      ctx,
      { status: 'failed', error, finishedAt: new Date() },
      {
        type: 'step-failed',
        payload: {
          step: ctx.index,
          stepId: ctx.step.id,
          error,
          onFailure: ctx.step.onFailure,
        },
      },
    );
    if (ctx.step.onFailure === 'continue' && !options.final) return 'next';
    await this.finish(
      ctx.execution.id,
      {
        status: 'failed',
        statusMessage: `Step '${ctx.step.id}' failed: ${error}`,
        currentStep: ctx.index,
      },
      'failed',
      {
        step: ctx.index,
        error,
      },
    );
    return 'stop';
  }

  private async attention(
    ctx: StepContext,
    message: string,
  ): Promise<StepOutcome> {
    await this.update(ctx, { status: 'needs-attention', error: message });
    await this.finish(
      ctx.execution.id,
      {
        status: 'needs-attention',
        statusMessage: message,
        currentStep: ctx.index,
      },
      'needs-attention',
      {
        step: ctx.index,
        stepId: ctx.step.id,
        message,
      },
    );
    return 'stop';
  }

  private timeoutMs(step: RunbookStep): number {
    return step.timeout
      ? parseDuration(step.timeout)
      : this.options.defaultStepTimeoutMs;
  }

  private async invoke(
    ctx: StepContext,
    tool: ToolDescription,
    input: Record<string, unknown>,
    options: { dryRun: boolean; expectedPlanDigest?: string },
  ): Promise<ToolResult> {
    return this.guard(ctx, () =>
      this.options.tools.invoke({
        tool: tool.name,
        input,
        dryRun: options.dryRun,
        expectedPlanDigest: options.expectedPlanDigest,
        idempotencyKey: ctx.run.idempotencyKey,
        signal: ctx.control.signal,
        timeoutMs: this.timeoutMs(ctx.step),
      }),
    );
  }

  /** The step's tool; a server that cannot be started surfaces as a ToolCallError. */
  private async describe(ctx: StepContext) {
    return this.guard(ctx, () => this.options.tools.describe(ctx.step.tool));
  }

  private async snapshot(ctx: StepContext, input: Record<string, unknown>) {
    return this.guard(ctx, () =>
      this.options.tools.snapshot({
        tool: ctx.step.tool,
        input,
        signal: ctx.control.signal,
        timeoutMs: this.timeoutMs(ctx.step),
      }),
    );
  }

  /** A stop of the worker surfaces as RunStopped; any other failure of the call as ToolCallError. */
  private async guard<T>(ctx: StepContext, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (ctx.control.signal.aborted) {
        throw new RunStopped(ctx.control.signal.reason as StopReason);
      }
      throw new ToolCallError(ctx.step.tool, e);
    }
  }
}
