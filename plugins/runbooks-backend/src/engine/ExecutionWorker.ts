import { LoggerService } from '@backstage/backend-plugin-api';
import { ClaimedExecution, ExecutionStore } from './ExecutionStore';
import { ExecutionRunner, StopReason } from './ExecutionRunner';
import { KillSwitch } from './types';

/** Timing and capacity of a worker. */
export interface WorkerSettings {
  /** Executions this worker runs at once. */
  concurrency: number;
  /** How long a claim lasts without a heartbeat. */
  leaseMs: number;
  /** How often a held lease is renewed (well under leaseMs). */
  heartbeatMs: number;
  /** How often the worker looks for runnable executions when nothing woke it. */
  pollMs: number;
  /** How often running executions are checked against kill switches and cancel requests. */
  watchMs: number;
}

interface Running {
  entityRef: string;
  runbookRef: string;
  controller: AbortController;
  done: Promise<void>;
}

function matches(s: KillSwitch, run: Running, executionId: string): boolean {
  switch (s.scope) {
    case 'global':
      return true;
    case 'entity':
      return s.target === run.entityRef;
    case 'runbook':
      return s.target === run.runbookRef;
    case 'execution':
      return s.target === executionId;
    default:
      return false;
  }
}

/**
 * Claims runnable executions (any replica may), runs them with leases and heartbeats, and aborts
 * them when a kill switch or a cancel request concerns them.
 */
export class ExecutionWorker {
  private readonly running = new Map<string, Running>();
  private pollTimer?: NodeJS.Timeout;
  private watchTimer?: NodeJS.Timeout;
  private polling = false;
  private pollAgain = false;
  private stopping = false;

  constructor(
    private readonly options: {
      store: ExecutionStore;
      runner: ExecutionRunner;
      logger: LoggerService;
      workerId: string;
      settings: WorkerSettings;
    },
  ) {}

  get workerId(): string {
    return this.options.workerId;
  }

  /** The executions this worker runs now. */
  runningIds(): string[] {
    return [...this.running.keys()];
  }

  start(): void {
    const { pollMs, watchMs } = this.options.settings;
    this.stopping = false;
    this.pollTimer = setInterval(() => this.wake(), pollMs);
    this.watchTimer = setInterval(() => {
      this.watch().catch(e =>
        this.options.logger.warn(`Kill switch watch failed: ${e}`),
      );
    }, watchMs);
    this.wake();
  }

  /** Looks for runnable executions now (after a create, a decision, a finished run). */
  wake(): void {
    if (this.stopping) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = true;
    this.poll()
      .catch(e => this.options.logger.warn(`Claiming executions failed: ${e}`))
      .finally(() => {
        this.polling = false;
        if (this.pollAgain) {
          this.pollAgain = false;
          this.wake();
        }
      });
  }

  private async poll() {
    const { store, workerId, settings } = this.options;
    while (!this.stopping && this.running.size < settings.concurrency) {
      const claimed = await store.claimExecution(workerId, settings.leaseMs);
      if (!claimed) return;
      this.launch(claimed);
    }
  }

  private launch(claimed: ClaimedExecution) {
    const { store, runner, logger, workerId, settings } = this.options;
    const { execution } = claimed;
    const controller = new AbortController();
    const loseLease = () => {
      if (!controller.signal.aborted) {
        controller.abort({ kind: 'lease-lost' } satisfies StopReason);
      }
    };
    // the lease runs out at (time of the last renewal) + leaseMs: stop while a heartbeat and a half
    // remains, so the run is over before another worker may claim the execution
    let leaseSince =
      (execution.leaseExpiresAt?.getTime() ?? Date.now() + settings.leaseMs) -
      settings.leaseMs;
    const heartbeat = setInterval(() => {
      if (
        Date.now() >=
        leaseSince + settings.leaseMs - 1.5 * settings.heartbeatMs
      ) {
        logger.warn(
          `Lost the lease of ${execution.id}: renewals did not get through in time`,
        );
        loseLease();
        return;
      }
      const sentAt = Date.now();
      store.renewLease(execution.id, workerId, settings.leaseMs).then(
        held => {
          if (held) leaseSince = sentAt;
          else loseLease();
        },
        e => logger.warn(`Lease renewal of ${execution.id} failed: ${e}`),
      );
    }, settings.heartbeatMs);
    const entry: Running = {
      entityRef: execution.entityRef,
      runbookRef: execution.runbookRef,
      controller,
      done: Promise.resolve(),
    };
    this.running.set(execution.id, entry);
    entry.done = runner
      .run(claimed, {
        signal: controller.signal,
        stopping: () => this.stopping,
      })
      .catch(e => logger.error(`Execution ${execution.id} crashed its run`, e))
      .finally(() => {
        clearInterval(heartbeat);
        this.running.delete(execution.id);
        this.wake();
      });
  }

  /** Aborts running executions that an engaged kill switch or a cancel request concerns. */
  async watch(): Promise<void> {
    if (this.running.size === 0) return;
    const { store } = this.options;
    const [switches, cancels] = await Promise.all([
      store.listKillSwitches(),
      store.listCancelRequests([...this.running.keys()]),
    ]);
    for (const [id, run] of this.running) {
      if (run.controller.signal.aborted) continue;
      const hits = switches.filter(s => matches(s, run, id));
      if (hits.length > 0) {
        run.controller.abort({
          kind: 'kill-switch',
          switches: hits,
        } satisfies StopReason);
      } else if (cancels.has(id)) {
        run.controller.abort({
          kind: 'cancel',
          by: cancels.get(id)!,
        } satisfies StopReason);
      }
    }
  }

  /**
   * Stops claiming; running executions hand themselves back at their next step boundary. After
   * `graceMs` the rest are aborted without writing: their leases expire and another replica
   * recovers them.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    this.stopping = true;
    clearInterval(this.pollTimer);
    clearInterval(this.watchTimer);
    const all = () => Promise.all([...this.running.values()].map(r => r.done));
    const timeout = new Promise(r =>
      setTimeout(r, options.graceMs ?? 10_000).unref(),
    );
    await Promise.race([all(), timeout]);
    for (const run of this.running.values()) {
      run.controller.abort({ kind: 'shutdown' } satisfies StopReason);
    }
    await all();
  }
}
