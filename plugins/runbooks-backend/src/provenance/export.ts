import { AUDIT_SUMMARY_COLUMNS } from '@runbooks/plugin-runbooks-common';
import { Execution, ExecutionStore } from '../engine';

/** The columns of the audit summary. */
export const SUMMARY_COLUMNS = AUDIT_SUMMARY_COLUMNS;

function csvCell(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  // quoted when needed; a leading = + - @ is prefixed so spreadsheets never run it as a formula
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One CSV line, CRLF-terminated (RFC 4180). */
export function csvLine(values: unknown[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/** One row of the audit summary of an execution. */
export async function summaryRow(
  store: ExecutionStore,
  execution: Execution,
  statements: number,
): Promise<string> {
  // the approvals that let each step's final attempt run (not those of expired, re-planned ones)
  const attempts = new Map(
    (await store.getSteps(execution.id)).map(s => [s.stepIndex, s.attempt]),
  );
  const approvers = [
    ...new Set(
      (await store.listApprovals(execution.id))
        .filter(
          a =>
            a.decision === 'approved' &&
            attempts.get(a.stepIndex) === a.attempt,
        )
        .map(a => a.decidedBy),
    ),
  ];
  return csvLine([
    execution.id,
    execution.runbookRef,
    execution.entityRef,
    execution.mode,
    execution.requester,
    approvers.join(' '),
    (execution.startedAt ?? execution.createdAt).toISOString(),
    execution.finishedAt?.toISOString(),
    execution.status,
    statements,
  ]);
}
