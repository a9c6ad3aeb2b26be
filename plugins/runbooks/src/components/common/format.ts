import {
  ExecutionStatusValue,
  FINAL_EXECUTION_STATUSES,
} from '@runbooks/plugin-runbooks-common';

/** The statuses after which an execution never changes again. */
export const FINAL_STATUSES: string[] = [...FINAL_EXECUTION_STATUSES];

/** An entity ref without the default namespace's noise: `user:default/alice` → `alice`. */
export const shortRef = (ref: string) => ref.replace(/^[a-z]+:default\//, '');

/** `1.2 s`, `3 min 4 s`, `2 h 5 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const whole = Math.round(s);
  const m = Math.floor(whole / 60);
  if (m < 60) return `${m} min ${whole - m * 60} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m - h * 60} min`;
}

/** A time as the reader's locale writes it. */
export const formatTime = (iso?: string) =>
  iso ? new Date(iso).toLocaleString() : '';

/** How long ago, in words: `just now`, `5 min ago`, `3 h ago`, `2 days ago`. */
export function formatAgo(iso: string, now = Date.now()): string {
  const s = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86400);
  return `${d} day${d === 1 ? '' : 's'} ago`;
}

/** Colours of outcomes, the same in chips and the chart (readable on light and dark themes). */
export const OUTCOME_COLOURS: Record<string, string> = {
  succeeded: '#2e7d32',
  failed: '#c62828',
  cancelled: '#757575',
  open: '#1565c0',
};

/** The colour of a status chip. */
export function statusColour(status: ExecutionStatusValue | string): string {
  if (status === 'succeeded') return OUTCOME_COLOURS.succeeded;
  if (status === 'failed') return OUTCOME_COLOURS.failed;
  if (status === 'cancelled') return OUTCOME_COLOURS.cancelled;
  if (status === 'needs-attention' || status === 'waiting-approval')
    return '#ef6c00';
  return OUTCOME_COLOURS.open;
}
