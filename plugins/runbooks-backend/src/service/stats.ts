import {
  ExecutionStatsResponse,
  ExecutionWeekResponse,
  RunbookStatsResponse,
} from '@runbooks/plugin-runbooks-common';
import { Execution, ExecutionTally } from '../engine';
import { redactExecution } from './redact';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The starts (Monday 00:00 UTC) of the `weeks` weeks that end with the week of `now`, oldest first. */
export function weekStarts(now: Date, weeks: number): Date[] {
  const today = Date.UTC(
    now.getUTCFullYear(),
    now.getUTCMonth(),
    now.getUTCDate(),
  );
  const monday = today - ((now.getUTCDay() + 6) % 7) * DAY_MS;
  return Array.from(
    { length: weeks },
    (_, i) => new Date(monday - (weeks - 1 - i) * 7 * DAY_MS),
  );
}

/** The median, to the millisecond; undefined for no values. */
function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[mid]
    : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

/** Stats of a runbook, with its last run as stored (its dates become ISO strings in JSON). */
type RunbookStats = Omit<RunbookStatsResponse, 'lastRun'> & {
  lastRun?: Execution;
};

/** The figures of `GET /executions/stats`, as {@link ExecutionStatsResponse} once in JSON. */
export type ExecutionStats = Omit<ExecutionStatsResponse, 'runbooks'> & {
  runbooks: RunbookStats[];
};

/**
 * The figures of an entity's executions from their tally: every week of the window (empty ones
 * too), and every runbook run in the window or before it, most run first.
 */
export function executionStats(
  entityRef: string,
  starts: Date[],
  tally: ExecutionTally,
): ExecutionStats {
  const weeks: ExecutionWeekResponse[] = starts.map(start => ({
    weekStart: start.toISOString(),
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    open: 0,
  }));
  const runbooks = new Map<string, RunbookStats>();
  const runbook = (runbookRef: string) => {
    let stats = runbooks.get(runbookRef);
    if (!stats) {
      stats = {
        runbookRef,
        total: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
        needsAttention: 0,
        rejected: 0,
      };
      runbooks.set(runbookRef, stats);
    }
    return stats;
  };
  for (const { week, runbookRef, status, count } of tally.counts) {
    const stats = runbook(runbookRef);
    stats.total += count;
    if (
      status === 'succeeded' ||
      status === 'failed' ||
      status === 'cancelled'
    ) {
      stats[status] += count;
      weeks[week][status] += count;
    } else {
      weeks[week].open += count;
    }
  }
  weeks.forEach((week, index) => {
    const ms = median(
      tally.durations.filter(d => d.week === index).map(d => d.ms),
    );
    if (ms !== undefined) week.medianDurationMs = ms;
  });
  for (const execution of tally.newest) {
    runbook(execution.runbookRef).lastRun = redactExecution(execution);
  }
  for (const { runbookRef, count } of tally.attention) {
    runbook(runbookRef).needsAttention = count;
  }
  for (const { runbookRef, count } of tally.rejected) {
    runbook(runbookRef).rejected = count;
  }
  const byFailures = [...tally.failedSteps].sort(
    (a, b) => b.count - a.count || a.stepId.localeCompare(b.stepId),
  );
  for (const { runbookRef, stepId, count } of byFailures) {
    const stats = runbook(runbookRef);
    stats.mostFailedStep ??= { stepId, failures: count };
  }
  for (const stats of runbooks.values()) {
    const ended = stats.succeeded + stats.failed;
    if (ended > 0) stats.successRate = stats.succeeded / ended;
    const ms = median(
      tally.durations
        .filter(d => d.runbookRef === stats.runbookRef)
        .map(d => d.ms),
    );
    if (ms !== undefined) stats.medianDurationMs = ms;
  }
  const all = [...runbooks.values()];
  const sum = (pick: (r: RunbookStats) => number) =>
    all.reduce((n, r) => n + pick(r), 0);
  const totals: ExecutionStatsResponse['totals'] = {
    total: sum(r => r.total),
    succeeded: sum(r => r.succeeded),
    failed: sum(r => r.failed),
    cancelled: sum(r => r.cancelled),
    needsAttention: sum(r => r.needsAttention),
    rejected: sum(r => r.rejected),
  };
  if (totals.succeeded + totals.failed > 0) {
    totals.successRate = totals.succeeded / (totals.succeeded + totals.failed);
  }
  const medianDurationMs = median(tally.durations.map(d => d.ms));
  return {
    entityRef,
    since: starts[0].toISOString(),
    weeks,
    runbooks: all.sort(
      (a, b) => b.total - a.total || a.runbookRef.localeCompare(b.runbookRef),
    ),
    ...(medianDurationMs !== undefined ? { medianDurationMs } : {}),
    totals,
  };
}
