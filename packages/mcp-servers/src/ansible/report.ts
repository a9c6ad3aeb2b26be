import { createTwoFilesPatch } from 'diff';
import { createHash } from 'node:crypto';
import { ToolPlan, ToolPlanChange } from '@runbooks/plugin-runbooks-node';
import { stringify } from 'yaml';
import { ToolError } from '../contract';

/** One host's result of one task, as the `json` stdout callback prints it (the parts read here). */
interface TaskResult {
  action?: string;
  changed?: boolean;
  failed?: boolean;
  skipped?: boolean;
  unreachable?: boolean;
  msg?: unknown;
  diff?: unknown;
  results?: TaskResult[];
  ansible_stats?: { data?: Record<string, unknown> };
  [key: string]: unknown;
}

interface HostStats {
  ok: number;
  changed: number;
  failures: number;
  unreachable: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

/**
 * The output of `ansible-playbook` with `ANSIBLE_STDOUT_CALLBACK=json` (one play per serial batch).
 * @public
 */
export interface CallbackReport {
  plays: Array<{
    play: { name: string };
    tasks: Array<{
      task: { name: string };
      hosts: Record<string, TaskResult>;
    }>;
  }>;
  stats: Record<string, HostStats>;
}

/** One host's result of one task, in the order they ran. */
interface HostTask {
  host: string;
  task: string;
  result: TaskResult;
}

/**
 * Reads the report out of stdout; undefined when there is none (Ansible failed before running).
 * @public
 */
export function parseReport(stdout: string): CallbackReport | undefined {
  const start = stdout.indexOf('{');
  if (start < 0) return undefined;
  try {
    const report = JSON.parse(stdout.slice(start));
    if (Array.isArray(report?.plays) && report?.stats) return report;
  } catch {
    // not the callback's output
  }
  return undefined;
}

function hostTasks(report: CallbackReport): HostTask[] {
  return report.plays.flatMap(play =>
    play.tasks.flatMap(({ task, hosts }) =>
      Object.entries(hosts).map(([host, result]) => ({
        host,
        task: task.name,
        result,
      })),
    ),
  );
}

const MESSAGE_CHARS = 500;

function message(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > MESSAGE_CHARS
    ? `${text.slice(0, MESSAGE_CHARS)}…`
    : text;
}

function failedItemMessage(result: TaskResult): unknown {
  const item = result.results?.find(r => r.failed || r.unreachable);
  return item?.msg ?? result.msg ?? 'failed';
}

/**
 * Throws a ToolError naming each failed or unreachable host with the message of the task that
 * stopped it (the last failure of the host: earlier ones may have been ignored or rescued).
 * @public
 */
export function throwOnFailure(
  report: CallbackReport,
  sanitize: (text: string) => string,
  what: string,
) {
  const bad = Object.entries(report.stats)
    .filter(([, s]) => s.failures > 0 || s.unreachable > 0)
    .map(([host]) => host)
    .sort();
  if (bad.length === 0) return;
  const tasks = hostTasks(report);
  const lines = bad.slice(0, 5).map(host => {
    const last = tasks
      .filter(t => t.host === host && (t.result.failed || t.result.unreachable))
      .pop();
    if (!last) return `${host}: failed`;
    const state = last.result.unreachable ? 'unreachable' : 'failed';
    return `${host}: ${state} in task '${last.task}': ${message(
      sanitize(message(failedItemMessage(last.result))),
    )}`;
  });
  if (bad.length > 5) lines.push(`and ${bad.length - 5} more`);
  throw new ToolError(
    `${what} failed on ${bad.length} host(s): ${lines.join('; ')}`,
  );
}

/** One before/after pair of a task's diff, as text. */
interface DiffPart {
  action: 'create' | 'delete' | 'update';
  beforeHeader?: string;
  afterHeader?: string;
  before?: string;
  after?: string;
  prepared?: string;
}

function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  return stringify(value, { sortMapEntries: true });
}

function diffParts(
  result: TaskResult,
  sanitize: (text: string) => string,
): DiffPart[] {
  const raw = result.diff;
  let entries: Array<Record<string, unknown>> = [];
  if (Array.isArray(raw)) entries = raw;
  else if (raw && typeof raw === 'object') {
    entries = [raw as Record<string, unknown>];
  }
  // a header inside the temp dir names generated content (copy's `content:`), not a real file
  const header = (value: unknown) => {
    if (typeof value !== 'string') return undefined;
    const clean = sanitize(value);
    return clean === value ? value : undefined;
  };
  return entries.map(entry => {
    const { before, after } = entry;
    const state = (side: unknown) =>
      side && typeof side === 'object'
        ? (side as Record<string, unknown>).state
        : undefined;
    let action: DiffPart['action'] = 'update';
    if (state(before) === 'absent' && state(after) && state(after) !== 'absent')
      action = 'create';
    else if (state(after) === 'absent' && state(before) !== 'absent')
      action = 'delete';
    // copy/template to a missing file: empty before side without a file name
    else if (before === '' && entry.before_header === undefined && after)
      action = 'create';
    const path =
      before && typeof before === 'object'
        ? (before as Record<string, unknown>).path
        : undefined;
    const beforeText = asText(before);
    const afterText = asText(after);
    return {
      action,
      beforeHeader: header(entry.before_header) ?? header(path),
      afterHeader:
        header(entry.after_header) ??
        header(entry.before_header) ??
        header(path),
      before: beforeText === undefined ? undefined : sanitize(beforeText),
      after: afterText === undefined ? undefined : sanitize(afterText),
      prepared:
        typeof entry.prepared === 'string'
          ? sanitize(entry.prepared)
          : undefined,
    };
  });
}

const CHECK_MODE_SKIP = /check mode/i;

/** A (host, task) the check run says would change, with its diff. */
interface PlannedTask {
  host: string;
  task: string;
  /** Skipped in check mode (its module cannot predict), so it runs unplanned on apply. */
  unpredictable: boolean;
  parts: DiffPart[];
}

function plannedTasks(
  report: CallbackReport,
  sanitize: (text: string) => string,
): PlannedTask[] {
  const planned: PlannedTask[] = [];
  for (const { host, task, result } of hostTasks(report)) {
    const items = result.results ?? [result];
    const changed = items.filter(r => r.changed);
    const unpredictable = items.some(
      r => r.skipped && CHECK_MODE_SKIP.test(String(r.msg ?? '')),
    );
    if (changed.length === 0 && !unpredictable) continue;
    planned.push({
      host,
      task,
      unpredictable,
      parts: changed.flatMap(r => diffParts(r, sanitize)),
    });
  }
  return planned;
}

// a loop over thousands of items would make a plan too large to review or to pass to the engine
const SHOWN_PARTS = 20;

/** The parts shown in full; the rest are counted and bound by a digest of them all. */
function shownParts(parts: DiffPart[]) {
  if (parts.length <= SHOWN_PARTS) return { shown: parts, hidden: 0 };
  return {
    shown: parts.slice(0, SHOWN_PARTS),
    hidden: parts.length - SHOWN_PARTS,
    partsDigest: `sha256:${createHash('sha256')
      .update(JSON.stringify(parts))
      .digest('hex')}`,
  };
}

function joined(parts: DiffPart[], side: 'before' | 'after') {
  const { shown, hidden } = shownParts(parts);
  const texts = shown
    .map(p => p[side])
    .filter((t): t is string => t !== undefined);
  if (hidden > 0) texts.push(`… and ${hidden} more\n`);
  return texts.length ? texts.join('\n') : undefined;
}

/**
 * The plan of a check run: one change per (host, task) that would change, `objectCount` the number
 * of hosts that would change (the blast radius of a playbook is its hosts), `hosts` all the hosts the
 * limit targets, and a unified diff. Only task names, host names and sanitized diff text go in, so
 * the plan is the same for the same state.
 * @public
 */
export function planFromCheck(
  report: CallbackReport,
  hosts: string[],
  sanitize: (text: string) => string,
): ToolPlan {
  const planned = plannedTasks(report, sanitize);
  const changes: ToolPlanChange[] = planned.map(
    ({ host, task, unpredictable, parts }) => {
      const actions = new Set(parts.map(p => p.action));
      const change: ToolPlanChange = {
        action:
          actions.size === 1 && !unpredictable ? [...actions][0] : 'update',
        kind: 'ansible-task',
        name: task,
        host,
      };
      const before = joined(parts, 'before');
      const after = joined(parts, 'after');
      if (before !== undefined) change.before = before;
      if (after !== undefined) change.after = after;
      if (unpredictable) change.unpredictable = true;
      const { hidden, partsDigest } = shownParts(parts);
      if (hidden > 0) {
        change.items = parts.length;
        change.itemsDigest = partsDigest;
      }
      return change;
    },
  );
  const diff = planned
    .flatMap(({ host, task, unpredictable, parts }) => {
      const { shown, hidden } = shownParts(parts);
      const texts = shown.map(part => {
        if (part.prepared !== undefined)
          return `# ${host}: ${task}\n${part.prepared}`;
        return createTwoFilesPatch(
          `${host}:${part.beforeHeader ?? task}`,
          `${host}:${part.afterHeader ?? task}`,
          part.before ?? '',
          part.after ?? '',
          undefined,
          undefined,
          { context: 3 },
        );
      });
      if (hidden > 0) {
        texts.push(`# ${host}: ${task}: ${hidden} more changes like these\n`);
      }
      if (unpredictable) {
        texts.push(
          `# ${host}: ${task}: skipped in check mode; it runs, unplanned, on apply\n`,
        );
      } else if (parts.length === 0) {
        texts.push(`# ${host}: ${task}: changes (the module shows no diff)\n`);
      }
      return texts;
    })
    .join('');
  return {
    changes,
    objectCount: new Set(planned.map(p => p.host)).size,
    diff,
    hosts,
  };
}

/**
 * The state a check run shows the playbook would act on: the `before` side of every (host, task)
 * that would change.
 * @public
 */
export function snapshotFromCheck(
  report: CallbackReport,
  hosts: string[],
  sanitize: (text: string) => string,
) {
  return {
    hosts,
    before: plannedTasks(report, sanitize).map(({ host, task, parts }) => ({
      host,
      task,
      before: joined(parts, 'before') ?? null,
      ...(shownParts(parts).partsDigest
        ? { itemsDigest: shownParts(parts).partsDigest }
        : {}),
    })),
  };
}

/** What a host reported through `set_stats` (merged in order) and `debug`. */
interface HostValues {
  stats: Record<string, unknown>;
  messages: unknown[];
}

function hostValues(
  report: CallbackReport,
  sanitize: (text: string) => string,
): Map<string, HostValues> {
  const values = new Map<string, HostValues>();
  for (const host of Object.keys(report.stats).sort()) {
    values.set(host, { stats: {}, messages: [] });
  }
  for (const { host, result } of hostTasks(report)) {
    const own = values.get(host) ?? { stats: {}, messages: [] };
    values.set(host, own);
    if (result.skipped) continue;
    if (result.action?.endsWith('set_stats') && result.ansible_stats?.data) {
      Object.assign(own.stats, result.ansible_stats.data);
    } else if (result.action?.endsWith('debug')) {
      // debug prints either `msg` or the variable named by `var`, under its own name
      const { msg } = result;
      if (msg !== undefined) {
        own.messages.push(typeof msg === 'string' ? sanitize(msg) : msg);
      } else {
        const vars = Object.entries(result).filter(
          ([k]) =>
            !k.startsWith('_') && !['action', 'changed', 'failed'].includes(k),
        );
        own.messages.push(Object.fromEntries(vars));
      }
    }
  }
  return values;
}

/**
 * The values a read-only playbook collected, per host: `{ hosts: [{ host, stats, messages }] }`.
 * @public
 */
export function gatheredValues(
  report: CallbackReport,
  sanitize: (text: string) => string,
) {
  return {
    hosts: [...hostValues(report, sanitize)].map(([host, v]) => ({
      host,
      ...v,
    })),
  };
}

function taskStatus(result: TaskResult) {
  if (result.unreachable) return 'unreachable';
  if (result.failed) return 'failed';
  if (result.skipped) return 'skipped';
  return result.changed ? 'changed' : 'ok';
}

/**
 * The outcome of a real run: totals over the hosts, the counts and reported values of each host,
 * and the status of every (host, task).
 * @public
 */
export function runOutcome(
  report: CallbackReport,
  sanitize: (text: string) => string,
) {
  const values = hostValues(report, sanitize);
  const hosts = Object.keys(report.stats)
    .sort()
    .map(host => {
      const s = report.stats[host];
      return {
        host,
        ok: s.ok,
        changed: s.changed,
        failed: s.failures,
        unreachable: s.unreachable,
        skipped: s.skipped,
        stats: values.get(host)?.stats ?? {},
        messages: values.get(host)?.messages ?? [],
      };
    });
  const sum = (key: 'ok' | 'changed' | 'failed' | 'unreachable') =>
    hosts.reduce((n, h) => n + h[key], 0);
  return {
    ok: sum('ok'),
    changed: sum('changed'),
    failed: sum('failed'),
    unreachable: sum('unreachable'),
    hosts,
    tasks: hostTasks(report).map(({ host, task, result }) => {
      const status = taskStatus(result);
      return status === 'failed' || status === 'unreachable'
        ? {
            host,
            task,
            status,
            msg: message(sanitize(message(failedItemMessage(result)))),
          }
        : { host, task, status };
    }),
  };
}

/**
 * The (host, task) pairs of a run that reported a change.
 * @public
 */
export function changedTasks(report: CallbackReport) {
  return hostTasks(report)
    .filter(({ result }) => result.changed)
    .map(({ host, task }) => ({ host, task }));
}
