import {
  ToolDescription,
  ToolInvocation,
  ToolInvoker,
  ToolPlan,
  ToolResult,
  ToolSnapshotRequest,
} from './ToolInvoker';

/**
 * A tool implemented in process, for tests and local experiments.
 * @public
 */
export interface InProcessTool {
  description?: Omit<ToolDescription, 'name'>;
  /** Computes the plan for an input (mutating tools). */
  plan?(input: Record<string, unknown>): ToolPlan | Promise<ToolPlan>;
  /** Runs the tool (for a mutating tool: the apply). */
  run(
    input: Record<string, unknown>,
    context: { signal: AbortSignal; idempotencyKey: string },
  ): unknown | Promise<unknown>;
  /** The current state, when the tool offers snapshots. */
  snapshot?(input: Record<string, unknown>): unknown | Promise<unknown>;
}

/**
 * A call the in-process invoker recorded.
 * @public
 */
export interface RecordedToolCall {
  kind: 'invoke' | 'snapshot';
  tool: string;
  input: Record<string, unknown>;
  dryRun: boolean;
  idempotencyKey?: string;
  expectedPlanDigest?: string;
  outcome: 'ok' | 'error' | 'aborted';
}

/**
 * Digest of a plan: sha256 of its canonical JSON. Provided by the caller so this package stays free of
 * a crypto dependency in the browser.
 * @public
 */
export type PlanDigester = (plan: ToolPlan) => string;

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted)
    return Promise.reject(signal.reason ?? new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      v => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      e => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * A {@link ToolInvoker} over tools implemented in process. It follows the tool contract (dry-run
 * returns a plan and digest; an apply whose fresh plan differs from the expected digest is refused)
 * and records every call with its idempotency key, so tests can prove what ran and how often.
 * @public
 */
export class InProcessToolInvoker implements ToolInvoker {
  readonly calls: RecordedToolCall[] = [];

  constructor(
    private readonly tools: Record<string, InProcessTool>,
    private readonly digest: PlanDigester,
  ) {}

  async describe(tool: string): Promise<ToolDescription | undefined> {
    const impl = this.tools[tool];
    if (!impl) return undefined;
    return {
      name: tool,
      supportsDryRun: Boolean(impl.plan),
      supportsSnapshot: Boolean(impl.snapshot),
      ...impl.description,
    };
  }

  async invoke(call: ToolInvocation): Promise<ToolResult> {
    const impl = this.tools[call.tool];
    const record: RecordedToolCall = {
      kind: 'invoke',
      tool: call.tool,
      input: call.input,
      dryRun: call.dryRun,
      idempotencyKey: call.idempotencyKey,
      expectedPlanDigest: call.expectedPlanDigest,
      outcome: 'ok',
    };
    this.calls.push(record);
    if (!impl) {
      record.outcome = 'error';
      return { output: undefined, error: `unknown tool ${call.tool}` };
    }
    try {
      const timeout = AbortSignal.timeout(call.timeoutMs);
      const signal = AbortSignal.any([call.signal, timeout]);
      if (call.dryRun) {
        if (!impl.plan) {
          record.outcome = 'error';
          return { output: undefined, error: `${call.tool} has no dry-run` };
        }
        const plan = await abortable(
          Promise.resolve(impl.plan(call.input)),
          signal,
        );
        return { output: plan, plan, planDigest: this.digest(plan) };
      }
      if (impl.plan && call.expectedPlanDigest !== undefined) {
        const fresh = this.digest(await impl.plan(call.input));
        if (fresh !== call.expectedPlanDigest) {
          record.outcome = 'error';
          return {
            output: undefined,
            error: `plan changed since it was approved (approved ${call.expectedPlanDigest}, now ${fresh}); nothing was applied`,
          };
        }
      }
      const output = await abortable(
        Promise.resolve(
          impl.run(call.input, { signal, idempotencyKey: call.idempotencyKey }),
        ),
        signal,
      );
      return { output };
    } catch (e) {
      record.outcome = call.signal.aborted ? 'aborted' : 'error';
      throw e;
    }
  }

  async snapshot(request: ToolSnapshotRequest): Promise<unknown> {
    const impl = this.tools[request.tool];
    this.calls.push({
      kind: 'snapshot',
      tool: request.tool,
      input: request.input,
      dryRun: false,
      outcome: 'ok',
    });
    if (!impl?.snapshot) return undefined;
    return impl.snapshot(request.input);
  }

  /** The applies (non-dry-run invocations) recorded for a tool. */
  applies(tool?: string): RecordedToolCall[] {
    return this.calls.filter(
      c =>
        c.kind === 'invoke' &&
        !c.dryRun &&
        (tool === undefined || c.tool === tool),
    );
  }
}
