import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import { PermissionCriteria } from '@backstage/plugin-permission-common';
import {
  isAndCriteria,
  isNotCriteria,
  isOrCriteria,
} from '@backstage/plugin-permission-node';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import type {
  SignedStatement,
  StatementRecorder,
} from '../provenance/statements';
import {
  Approval,
  Execution,
  ExecutionCondition,
  ExecutionEvent,
  ExecutionFilter,
  ExecutionMode,
  ExecutionStatus,
  KillSwitch,
  KillSwitchScope,
  NewExecution,
  StepRun,
  StepRunPatch,
  StepStatus,
  TERMINAL_STATUSES,
} from './types';

const migrationsDir = resolvePackagePath(
  '@runbooks/plugin-runbooks-backend',
  'migrations',
);

// PostgreSQL returns Date; SQLite returns the epoch milliseconds knex stored, or a string
type DbTimestamp = Date | string | number;

type RawExecutionRow = {
  id: string;
  runbook_ref: string;
  runbook_digest: string;
  runbook_content: string;
  entity_ref: string;
  entity_snapshot: string;
  entity_owner: string | null;
  runbook_owner: string | null;
  parameters: string;
  requester: string;
  mode: string;
  status: string;
  status_message: string | null;
  current_step: number;
  cancel_requested_by: string | null;
  created_at: DbTimestamp;
  updated_at: DbTimestamp;
  started_at: DbTimestamp | null;
  finished_at: DbTimestamp | null;
  lease_owner: string | null;
  lease_expires_at: DbTimestamp | null;
};

type RawStepRunRow = {
  execution_id: string;
  step_index: number;
  step_id: string;
  status: string;
  phase: string | null;
  attempt: number;
  idempotency_key: string;
  input: string | null;
  plan: string | null;
  plan_digest: string | null;
  before: string | null;
  after: string | null;
  diff: string | null;
  output: string | null;
  error: string | null;
  blast_radius: string | null;
  approval_requested_at: DbTimestamp | null;
  started_at: DbTimestamp | null;
  finished_at: DbTimestamp | null;
};

type RawEventRow = {
  execution_id: string;
  seq: number;
  type: string;
  payload: string;
  created_at: DbTimestamp;
};

type RawStatementRow = {
  execution_id: string;
  seq: number;
  kind: string;
  step_index: number | null;
  attempt: number | null;
  statement_digest: string;
  key_hint: string | null;
  bundle: string;
  created_at: DbTimestamp;
};

/** A stored signed statement of an execution. */
export interface StoredStatement {
  executionId: string;
  sequence: number;
  kind: 'step' | 'checkpoint';
  stepIndex?: number;
  attempt?: number;
  digest: string;
  keyHint?: string;
  /** The Sigstore bundle, serialised as stored. */
  bundle: string;
  createdAt: Date;
}

/** Where a signed statement landed in its execution's chain. */
export interface StatementRef {
  sequence: number;
  digest: string;
}

/** Step statuses a step run ends a run in: each is recorded by a signed statement. */
export const ATTESTED_STEP_STATUSES: ReadonlyArray<StepStatus> = [
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
  'needs-attention',
];

type RawKillSwitchRow = {
  id: string;
  scope: string;
  target: string;
  reason: string;
  engaged_by: string;
  engaged_at: DbTimestamp;
  released_by: string | null;
  released_at: DbTimestamp | null;
};

type RawApprovalRow = {
  id: string;
  execution_id: string;
  step_index: number;
  attempt: number;
  plan_digest: string;
  decided_by: string;
  owner_of: string | null;
  decision: string;
  comment: string | null;
  created_at: DbTimestamp;
  expires_at: DbTimestamp | null;
};

const toDate = (v: DbTimestamp) => (v instanceof Date ? v : new Date(v));
const toOptionalDate = (v: DbTimestamp | null) =>
  v === null || v === undefined ? undefined : toDate(v);
const fromJson = (v: string | null) =>
  v === null || v === undefined ? undefined : JSON.parse(v);
const toJson = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

function executionFromRow(row: RawExecutionRow): Execution {
  return {
    id: row.id,
    runbookRef: row.runbook_ref,
    runbookDigest: row.runbook_digest,
    runbookContent: JSON.parse(row.runbook_content),
    entityRef: row.entity_ref,
    entitySnapshot: JSON.parse(row.entity_snapshot),
    entityOwner: row.entity_owner ?? undefined,
    runbookOwner: row.runbook_owner ?? undefined,
    parameters: JSON.parse(row.parameters),
    requester: row.requester,
    mode: row.mode as ExecutionMode,
    status: row.status as ExecutionStatus,
    statusMessage: row.status_message ?? undefined,
    currentStep: Number(row.current_step),
    cancelRequestedBy: row.cancel_requested_by ?? undefined,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    startedAt: toOptionalDate(row.started_at),
    finishedAt: toOptionalDate(row.finished_at),
    leaseOwner: row.lease_owner ?? undefined,
    leaseExpiresAt: toOptionalDate(row.lease_expires_at),
  };
}

function stepFromRow(row: RawStepRunRow): StepRun {
  return {
    executionId: row.execution_id,
    stepIndex: Number(row.step_index),
    stepId: row.step_id,
    status: row.status as StepStatus,
    phase: (row.phase ?? undefined) as StepRun['phase'],
    attempt: Number(row.attempt),
    idempotencyKey: row.idempotency_key,
    input: fromJson(row.input),
    plan: fromJson(row.plan),
    planDigest: row.plan_digest ?? undefined,
    before: fromJson(row.before),
    after: fromJson(row.after),
    diff: fromJson(row.diff),
    output: fromJson(row.output),
    error: row.error ?? undefined,
    blastRadius: fromJson(row.blast_radius),
    approvalRequestedAt: toOptionalDate(row.approval_requested_at),
    startedAt: toOptionalDate(row.started_at),
    finishedAt: toOptionalDate(row.finished_at),
  };
}

function stepPatchToRow(patch: StepRunPatch): Partial<RawStepRunRow> {
  const row: Record<string, unknown> = {};
  const json: Array<[keyof StepRunPatch, keyof RawStepRunRow]> = [
    ['input', 'input'],
    ['plan', 'plan'],
    ['before', 'before'],
    ['after', 'after'],
    ['diff', 'diff'],
    ['output', 'output'],
    ['blastRadius', 'blast_radius'],
  ];
  for (const [key, column] of json) {
    if (key in patch) row[column] = toJson(patch[key]);
  }
  if ('status' in patch) row.status = patch.status;
  if ('phase' in patch) row.phase = patch.phase ?? null;
  if ('attempt' in patch) row.attempt = patch.attempt;
  if ('planDigest' in patch) row.plan_digest = patch.planDigest ?? null;
  if ('error' in patch) row.error = patch.error ?? null;
  if ('approvalRequestedAt' in patch)
    row.approval_requested_at = patch.approvalRequestedAt ?? null;
  if ('startedAt' in patch) row.started_at = patch.startedAt ?? null;
  if ('finishedAt' in patch) row.finished_at = patch.finishedAt ?? null;
  return row as Partial<RawStepRunRow>;
}

function killSwitchFromRow(row: RawKillSwitchRow): KillSwitch {
  return {
    id: row.id,
    scope: row.scope as KillSwitchScope,
    target: row.target,
    reason: row.reason,
    engagedBy: row.engaged_by,
    engagedAt: toDate(row.engaged_at),
    releasedBy: row.released_by ?? undefined,
    releasedAt: toOptionalDate(row.released_at),
  };
}

function approvalFromRow(row: RawApprovalRow): Approval {
  return {
    id: row.id,
    executionId: row.execution_id,
    stepIndex: Number(row.step_index),
    attempt: Number(row.attempt),
    planDigest: row.plan_digest,
    decidedBy: row.decided_by,
    ownerOf: row.owner_of ?? undefined,
    decision: row.decision as Approval['decision'],
    comment: row.comment ?? undefined,
    createdAt: toDate(row.created_at),
    expiresAt: toOptionalDate(row.expires_at),
  };
}

/**
 * What a decision on a waiting step writes, in one transaction: decisions, the execution's and the
 * step's new state, and an event. `refusal` is a message for the decider when what was written is
 * not what they asked for (their request expired and was sent back for a fresh plan).
 */
export interface GateWrite {
  approvals?: Array<Omit<Approval, 'id' | 'createdAt' | 'executionId'>>;
  execution?: { status: ExecutionStatus; statusMessage?: string };
  step?: StepRunPatch;
  event?: { type: string; payload?: Record<string, unknown> };
  refusal?: string;
  /** The decision was already recorded: nothing new was written. */
  duplicate?: boolean;
}

/** Which page of executions to read, and what the reader may see. */
export interface ExecutionPageOptions {
  limit?: number;
  cursor?: string;
  /** What the reader may see, from a conditional permission decision. */
  visible?: PermissionCriteria<ExecutionCondition>;
}

/** What the figures of an entity's executions are made of (see `tallyExecutions`). */
export interface ExecutionTally {
  /** Executions created in the window, by week (the index of its start), runbook and status. */
  counts: Array<{
    week: number;
    runbookRef: string;
    status: ExecutionStatus;
    count: number;
  }>;
  /** How long each ended execution of the window took from its creation to its finish. */
  durations: Array<{ week: number; runbookRef: string; ms: number }>;
  /** The newest execution of each runbook on the entity, also before the window. */
  newest: Execution[];
  /** Executions of the window that needed attention at least once, by runbook. */
  attention: Array<{ runbookRef: string; count: number }>;
  /** Executions of the window an approver rejected, by runbook. */
  rejected: Array<{ runbookRef: string; count: number }>;
  /** Failed step runs of the window's executions, by runbook and step. */
  failedSteps: Array<{ runbookRef: string; stepId: string; count: number }>;
}

/** A page of executions and the cursor of the next page. */
export interface ExecutionPage {
  items: Execution[];
  nextCursor?: string;
}

/** The result of claiming an execution. */
export interface ClaimedExecution {
  execution: Execution;
  /** The execution was running under another worker whose lease expired. */
  recovered: boolean;
}

/**
 * Stores executions, their step runs, events, approvals and kill switches (SQLite or PostgreSQL
 * through knex). Every change made on behalf of a worker is guarded by the worker's lease, so a
 * worker that lost its lease cannot write.
 */
export class ExecutionStore {
  static async create(options: {
    database: DatabaseService;
    /**
     * Signs a statement for every step that ends and a checkpoint for every execution that ends,
     * in the same transaction as the change. The plugin always sets it.
     */
    provenance?: StatementRecorder;
  }): Promise<ExecutionStore> {
    const client = await options.database.getClient();
    if (!options.database.migrations?.skip) {
      await client.migrate.latest({ directory: migrationsDir });
    }
    return new ExecutionStore(client, options.provenance);
  }

  private readonly isPostgres: boolean;

  private constructor(
    private readonly db: Knex,
    private readonly provenance?: StatementRecorder,
  ) {
    this.isPostgres = String(db.client.config.client).includes('pg');
  }

  /** Whether a step patch ends the step, so it is recorded by a signed statement. */
  private attests(patch?: StepRunPatch): boolean {
    return (
      !!this.provenance &&
      !!patch?.status &&
      ATTESTED_STEP_STATUSES.includes(patch.status)
    );
  }

  /**
   * What a step statement needs of its execution never changes after the execution was created
   * (runbook, entity, parameters, requester, mode): read once per execution, kept for a while.
   */
  private readonly statementExecutions = new Map<string, Execution>();

  private async executionForStatement(
    tx: Knex,
    executionId: string,
  ): Promise<Execution> {
    const cached = this.statementExecutions.get(executionId);
    if (cached) return cached;
    const execution = await this.getExecutionTx(tx, executionId);
    if (this.statementExecutions.size >= 1000) {
      const oldest = this.statementExecutions.keys().next().value;
      if (oldest !== undefined) this.statementExecutions.delete(oldest);
    }
    this.statementExecutions.set(executionId, execution);
    return execution;
  }

  /**
   * A step as stored, with the head of its execution's chain and whether anyone decided on it, in
   * one query.
   */
  private async stepWithHead(db: Knex, executionId: string, stepIndex: number) {
    const row:
      | (RawStepRunRow & {
          head_seq: number | null;
          head_digest: string | null;
          decisions: number | string;
        })
      | undefined = await db('step_runs as s')
      .where({ 's.execution_id': executionId, 's.step_index': stepIndex })
      .select(
        's.*',
        db.raw(
          '(SELECT seq FROM execution_statements WHERE execution_id = s.execution_id ORDER BY seq DESC LIMIT 1) AS head_seq',
        ),
        db.raw(
          '(SELECT statement_digest FROM execution_statements WHERE execution_id = s.execution_id ORDER BY seq DESC LIMIT 1) AS head_digest',
        ),
        db.raw(
          '(SELECT COUNT(*) FROM approvals WHERE execution_id = s.execution_id AND step_index = s.step_index) AS decisions',
        ),
      )
      .first();
    if (!row) return undefined;
    const {
      head_seq: headSeq,
      head_digest: headDigest,
      decisions,
      ...step
    } = row;
    return {
      step: step as RawStepRunRow,
      sequence: headSeq === null ? 1 : Number(headSeq) + 1,
      previous: headDigest,
      decided: Number(decisions) > 0,
    };
  }

  /** Signs the statement of a step record, with the decisions on its attempt. */
  private async signStep(
    db: Knex,
    execution: Execution,
    step: StepRun,
    head: { sequence: number; previous: string | null; decided: boolean },
  ): Promise<SignedStatement> {
    const approvals = head.decided
      ? (
          await db<RawApprovalRow>('approvals')
            .where({
              execution_id: execution.id,
              step_index: step.stepIndex,
              attempt: step.attempt,
            })
            .orderBy('created_at')
        ).map(approvalFromRow)
      : [];
    return this.provenance!.step({
      execution,
      step,
      approvals,
      sequence: head.sequence,
      previous: head.previous,
    });
  }

  /** Signs and appends the statement of a step's current record (inside the write's transaction). */
  private async attestStep(
    tx: Knex.Transaction,
    executionId: string,
    stepIndex: number,
  ): Promise<StatementRef | undefined> {
    const execution = await this.executionForStatement(tx, executionId);
    const head = await this.stepWithHead(tx, executionId, stepIndex);
    if (!head) return undefined; // no such step: nothing ended
    const signed = await this.signStep(
      tx,
      execution,
      stepFromRow(head.step),
      head,
    );
    return this.insertStatement(tx, executionId, signed);
  }

  /** Signs and appends the checkpoint that closes an ended execution's chain. */
  private async attestCheckpoint(
    tx: Knex.Transaction,
    executionId: string,
  ): Promise<StatementRef | undefined> {
    if (!this.provenance) return undefined;
    this.statementExecutions.delete(executionId);
    const execution = await this.getExecutionTx(tx, executionId);
    const last = await tx<RawStatementRow>('execution_statements')
      .where({ execution_id: executionId })
      .orderBy('seq', 'desc')
      .first();
    const signed = await this.provenance.checkpoint({
      execution,
      sequence: last ? Number(last.seq) + 1 : 1,
      previous: last?.statement_digest ?? null,
    });
    return this.insertStatement(tx, executionId, signed);
  }

  private async insertStatement(
    tx: Knex.Transaction,
    executionId: string,
    signed: SignedStatement,
  ): Promise<StatementRef> {
    // a concurrent writer taking the same position fails on the primary key and runs again
    await tx<RawStatementRow>('execution_statements').insert({
      execution_id: executionId,
      seq: signed.sequence,
      kind: signed.kind,
      step_index: signed.stepIndex ?? null,
      attempt: signed.attempt ?? null,
      statement_digest: signed.digest,
      key_hint: signed.keyHint,
      bundle: signed.bundle,
      created_at: new Date(),
    });
    return { sequence: signed.sequence, digest: signed.digest };
  }

  private enabledAt?: Promise<Date | undefined>;

  /**
   * When signing was enabled in this database: when the provenance migration ran. Executions
   * created since must have statements; older ones may legitimately have none.
   */
  provenanceEnabledAt(): Promise<Date | undefined> {
    this.enabledAt ??= this.db('knex_migrations')
      .where('name', '20261127000000_provenance.js')
      .first('migration_time')
      .then(row =>
        row?.migration_time ? toDate(row.migration_time) : undefined,
      )
      .catch(() => undefined);
    return this.enabledAt;
  }

  /** The signed statements of an execution, in stored order. */
  async listStatements(executionId: string): Promise<StoredStatement[]> {
    const rows = await this.db<RawStatementRow>('execution_statements')
      .where({ execution_id: executionId })
      .orderBy('seq');
    return rows.map(row => ({
      executionId: row.execution_id,
      sequence: Number(row.seq),
      kind: row.kind as StoredStatement['kind'],
      stepIndex: row.step_index === null ? undefined : Number(row.step_index),
      attempt: row.attempt === null ? undefined : Number(row.attempt),
      digest: row.statement_digest,
      keyHint: row.key_hint ?? undefined,
      bundle: row.bundle,
      createdAt: toDate(row.created_at),
    }));
  }

  /**
   * A transaction that takes the write lock first. On SQLite a transaction that reads before it
   * writes cannot wait for another process's lock (it fails with SQLITE_BUSY), so it starts with
   * a write that changes nothing; PostgreSQL locks rows as it goes.
   */
  private writeTransaction<T>(
    fn: (tx: Knex.Transaction) => Promise<T>,
  ): Promise<T> {
    // a clash on an event's sequence number rolls the whole transaction back: run it again
    return retryOnSequenceClash(() =>
      this.db.transaction(async tx => {
        if (!this.isPostgres) {
          await tx.raw('UPDATE executions SET id = id WHERE 0');
        }
        return fn(tx);
      }),
    );
  }

  /** Records a new queued execution with one pending step run per step. */
  async createExecution(input: NewExecution): Promise<Execution> {
    const now = new Date();
    const row: RawExecutionRow = {
      id: randomUUID(),
      runbook_ref: input.runbookRef,
      runbook_digest: input.runbookDigest,
      runbook_content: JSON.stringify(input.runbookContent),
      entity_ref: input.entityRef,
      entity_snapshot: JSON.stringify(input.entitySnapshot),
      entity_owner: input.entityOwner ?? null,
      runbook_owner: input.runbookOwner ?? null,
      parameters: JSON.stringify(input.parameters),
      requester: input.requester,
      mode: input.mode,
      status: 'queued',
      status_message: null,
      current_step: 0,
      cancel_requested_by: null,
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
      lease_owner: null,
      lease_expires_at: null,
    };
    await this.writeTransaction(async tx => {
      await tx<RawExecutionRow>('executions').insert(row);
      if (input.stepIds.length > 0) {
        await tx<RawStepRunRow>('step_runs').insert(
          input.stepIds.map((stepId, index) => ({
            execution_id: row.id,
            step_index: index,
            step_id: stepId,
            status: 'pending',
            phase: null,
            attempt: 0,
            idempotency_key: `${row.id}/${index}/${stepId}`,
          })),
        );
      }
      await tx<RawEventRow>('execution_events').insert({
        execution_id: row.id,
        seq: 1,
        type: 'created',
        payload: JSON.stringify({
          runbookRef: input.runbookRef,
          entityRef: input.entityRef,
          mode: input.mode,
          requester: input.requester,
        }),
        created_at: now,
      });
    });
    return executionFromRow(row);
  }

  /** One execution, or NotFoundError. */
  async getExecution(id: string): Promise<Execution> {
    const row = await this.db<RawExecutionRow>('executions')
      .where({ id })
      .first();
    if (!row) {
      throw new NotFoundError(`No execution ${id}`);
    }
    return executionFromRow(row);
  }

  /** The executions a reader may see (all without a conditional decision). */
  private visibleExecutions(visible?: PermissionCriteria<ExecutionCondition>) {
    const query = this.db<RawExecutionRow>('executions');
    return visible ? query.where(q => applyCriteria(q, visible)) : query;
  }

  /** Executions, newest first, filtered, a page at a time. */
  async listExecutions(
    filter: ExecutionFilter,
    options: ExecutionPageOptions = {},
  ): Promise<ExecutionPage> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    let query = this.visibleExecutions(options.visible);
    if (filter.entityRef) query = query.where('entity_ref', filter.entityRef);
    if (filter.runbookRef)
      query = query.where('runbook_ref', filter.runbookRef);
    if (filter.requester) query = query.where('requester', filter.requester);
    if (filter.status?.length) query = query.whereIn('status', filter.status);
    if (filter.createdAfter)
      query = query.where('created_at', '>=', filter.createdAfter);
    if (filter.createdBefore)
      query = query.where('created_at', '<', filter.createdBefore);
    return this.keysetPage(query, 'created_at', 'desc', limit, options.cursor);
  }

  /** A page of executions ordered by a time column and id, after the cursor's (time, id). */
  private async keysetPage(
    query: Knex.QueryBuilder<RawExecutionRow, RawExecutionRow[]>,
    column: 'created_at' | 'finished_at',
    order: 'asc' | 'desc',
    limit: number,
    cursor?: string,
  ): Promise<ExecutionPage> {
    const beyond = order === 'asc' ? '>' : '<';
    let page = query;
    if (cursor) {
      const [time, id] = decodeCursor(cursor);
      page = page.where(q =>
        q
          .where(column, beyond, time)
          .orWhere(q2 =>
            q2.where(column, '=', time).andWhere('id', beyond, id),
          ),
      );
    }
    const rows: RawExecutionRow[] = await page
      .orderBy([
        { column, order },
        { column: 'id', order },
      ])
      .limit(limit + 1);
    const last = rows[Math.min(rows.length, limit) - 1];
    return {
      items: rows.slice(0, limit).map(executionFromRow),
      nextCursor:
        rows.length > limit && last?.[column]
          ? encodeCursor(toDate(last[column]!), last.id)
          : undefined,
    };
  }

  /**
   * Ended executions that finished in [from, to), oldest first, a page at a time (for audit
   * exports).
   */
  async listFinished(
    filter: { from: Date; to: Date; entityRef?: string },
    options: ExecutionPageOptions = {},
  ): Promise<ExecutionPage> {
    const limit = Math.min(Math.max(options.limit ?? 200, 1), 1000);
    let query = this.visibleExecutions(options.visible)
      .whereIn('status', TERMINAL_STATUSES as ExecutionStatus[])
      .where('finished_at', '>=', filter.from)
      .where('finished_at', '<', filter.to);
    if (filter.entityRef) query = query.where('entity_ref', filter.entityRef);
    return this.keysetPage(query, 'finished_at', 'asc', limit, options.cursor);
  }

  /** The step runs of an execution, in order. */
  async getSteps(executionId: string): Promise<StepRun[]> {
    const rows = await this.db<RawStepRunRow>('step_runs')
      .where({ execution_id: executionId })
      .orderBy('step_index');
    return rows.map(stepFromRow);
  }

  /**
   * Claims one runnable execution for a worker: a queued one, or a running one whose lease expired
   * (a crashed worker's). Compare-and-set, so two workers never hold the same execution.
   */
  async claimExecution(
    workerId: string,
    leaseMs: number,
  ): Promise<ClaimedExecution | undefined> {
    return this.writeTransaction(async tx => {
      const now = new Date();
      const runnable = (q: Knex.QueryBuilder) =>
        q
          .where('status', 'queued')
          .orWhere(q2 =>
            q2
              .where('status', 'running')
              .andWhere('lease_expires_at', '<', now),
          );
      let candidate = tx<RawExecutionRow>('executions')
        .where(runnable)
        .orderBy('created_at')
        .first();
      if (this.isPostgres) {
        candidate = candidate.forUpdate().skipLocked();
      }
      const row = await candidate;
      if (!row) return undefined;
      const recovered = row.status === 'running';
      const updated = await tx<RawExecutionRow>('executions')
        .where({ id: row.id })
        .andWhere(runnable)
        .update({
          status: 'running',
          lease_owner: workerId,
          lease_expires_at: new Date(now.getTime() + leaseMs),
          started_at: row.started_at ?? now,
          updated_at: now,
        });
      if (updated !== 1) return undefined;
      const claimed = await tx<RawExecutionRow>('executions')
        .where({ id: row.id })
        .first();
      return { execution: executionFromRow(claimed!), recovered };
    });
  }

  /** Extends a worker's lease; false when the worker no longer holds it. */
  async renewLease(
    id: string,
    workerId: string,
    leaseMs: number,
  ): Promise<boolean> {
    const updated = await this.db<RawExecutionRow>('executions')
      .where({ id, lease_owner: workerId, status: 'running' })
      .update({ lease_expires_at: new Date(Date.now() + leaseMs) });
    return updated === 1;
  }

  /**
   * Moves a running execution the worker holds to a new status, releasing the lease. Throws
   * ConflictError when the worker no longer holds it.
   */
  async finishRun(
    id: string,
    workerId: string,
    patch: {
      status: ExecutionStatus;
      statusMessage?: string;
      currentStep?: number;
    },
    event?: { type: string; payload?: Record<string, unknown> },
  ): Promise<number | undefined> {
    return this.writeTransaction(async tx => {
      const now = new Date();
      const updated = await tx<RawExecutionRow>('executions')
        .where({ id, lease_owner: workerId, status: 'running' })
        .update({
          status: patch.status,
          status_message: patch.statusMessage ?? null,
          ...(patch.currentStep !== undefined
            ? { current_step: patch.currentStep }
            : {}),
          lease_owner: null,
          lease_expires_at: null,
          updated_at: now,
          ...(TERMINAL_STATUSES.includes(patch.status)
            ? { finished_at: now }
            : {}),
        });
      if (updated !== 1) {
        throw new ConflictError(
          `Execution ${id} is no longer held by ${workerId}`,
        );
      }
      const checkpoint = TERMINAL_STATUSES.includes(patch.status)
        ? await this.attestCheckpoint(tx, id)
        : undefined;
      // the status and its event land together: a reader never sees one without the other
      return event
        ? this.appendEventTx(
            tx,
            id,
            event.type,
            withStatement(event.payload, 'checkpoint', checkpoint),
          )
        : undefined;
    });
  }

  /**
   * Changes a step run, only while the worker holds the execution's lease, and appends its event in
   * the same statement (PostgreSQL) or transaction (SQLite). Throws ConflictError when the worker
   * no longer holds the lease, so a worker that lost it cannot record anything. Returns the event's
   * sequence number.
   */
  async updateStep(
    executionId: string,
    stepIndex: number,
    workerId: string,
    patch: StepRunPatch,
    event?: { type: string; payload?: Record<string, unknown> },
  ): Promise<number | undefined> {
    const row = stepPatchToRow(patch);
    const lost = () =>
      new ConflictError(
        `Execution ${executionId} is no longer held by ${workerId}; step ${stepIndex} not updated`,
      );
    const attest = this.attests(patch);
    if (this.isPostgres && attest) {
      return this.updateStepSignedPostgres(
        executionId,
        stepIndex,
        workerId,
        patch,
        event,
        lost,
      );
    }
    if (this.isPostgres && event && !attest) {
      // one round trip: the guarded update, and the event only if the update happened
      const columns = Object.keys(row);
      const result = await retryOnSequenceClash(() =>
        this.db.raw(
          `WITH held AS (
           SELECT 1 FROM executions WHERE id = ? AND lease_owner = ? AND status = 'running'
         ), changed AS (
           UPDATE step_runs SET ${columns.map(c => `"${c}" = ?`).join(', ')}
           WHERE execution_id = ? AND step_index = ? AND EXISTS (SELECT 1 FROM held)
           RETURNING 1
         )
         INSERT INTO execution_events (execution_id, seq, type, payload, created_at)
         SELECT ?, COALESCE((SELECT MAX(seq) FROM execution_events WHERE execution_id = ?), 0) + 1, ?, ?, ?
         WHERE EXISTS (SELECT 1 FROM changed)
         RETURNING seq`,
          [
            executionId,
            workerId,
            ...columns.map(
              c => ((row as Record<string, unknown>)[c] ?? null) as Knex.Value,
            ),
            executionId,
            stepIndex,
            executionId,
            executionId,
            event.type,
            JSON.stringify(event.payload ?? {}),
            new Date(),
          ],
        ),
      );
      if (result.rows.length !== 1) throw lost();
      return Number(result.rows[0].seq);
    }
    const guarded = (db: Knex) =>
      db<RawStepRunRow>('step_runs')
        .where({ execution_id: executionId, step_index: stepIndex })
        .whereExists(
          db('executions').select(db.raw('1')).where({
            id: executionId,
            lease_owner: workerId,
            status: 'running',
          }),
        )
        .update(row);
    if (!event && !attest) {
      if ((await guarded(this.db)) !== 1) throw lost();
      return undefined;
    }
    return this.writeTransaction(async tx => {
      if ((await guarded(tx)) !== 1) throw lost();
      // the step's end and its signed statement land together, or neither does
      const statement = attest
        ? await this.attestStep(tx, executionId, stepIndex)
        : undefined;
      return event
        ? this.appendEventTx(
            tx,
            executionId,
            event.type,
            withStatement(event.payload, 'statement', statement),
          )
        : undefined;
    });
  }

  /**
   * A step's end on PostgreSQL in two round trips: read the step and the chain's head, sign the
   * statement of the record the patch produces, then one statement that (only while the worker
   * holds the lease and the step is as read) updates the step, appends the statement and the event
   * together. Another writer taking the same chain position fails on the primary key: run again.
   */
  private async updateStepSignedPostgres(
    executionId: string,
    stepIndex: number,
    workerId: string,
    patch: StepRunPatch,
    event: { type: string; payload?: Record<string, unknown> } | undefined,
    lost: () => Error,
  ): Promise<number | undefined> {
    return retryOnSequenceClash(async () => {
      const execution = await this.executionForStatement(this.db, executionId);
      const current = await this.stepWithHead(this.db, executionId, stepIndex);
      if (!current) throw lost();
      const before = current.step;
      const row = stepPatchToRow(patch);
      const step = stepFromRow({ ...before, ...row } as RawStepRunRow);
      const signed = await this.signStep(this.db, execution, step, current);
      const columns = Object.keys(row);
      const now = new Date();
      const result = await this.db.raw(
        `WITH held AS (
           SELECT 1 FROM executions WHERE id = ? AND lease_owner = ? AND status = 'running'
         ), changed AS (
           UPDATE step_runs SET ${columns.map(c => `"${c}" = ?`).join(', ')}
           WHERE execution_id = ? AND step_index = ? AND attempt = ? AND status = ?
             AND EXISTS (SELECT 1 FROM held)
           RETURNING 1
         ), statement AS (
           INSERT INTO execution_statements
             (execution_id, seq, kind, step_index, attempt, statement_digest, key_hint, bundle, created_at)
           SELECT ?, ?, 'step', ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM changed)
           RETURNING 1
         )
         ${
           event
             ? `INSERT INTO execution_events (execution_id, seq, type, payload, created_at)
                SELECT ?, COALESCE((SELECT MAX(seq) FROM execution_events WHERE execution_id = ?), 0) + 1, ?, ?, ?
                WHERE EXISTS (SELECT 1 FROM statement)
                RETURNING seq`
             : 'SELECT 0 AS seq FROM statement'
         }`,
        [
          executionId,
          workerId,
          ...columns.map(
            c => ((row as Record<string, unknown>)[c] ?? null) as Knex.Value,
          ),
          executionId,
          stepIndex,
          before.attempt,
          before.status,
          executionId,
          signed.sequence,
          stepIndex,
          step.attempt,
          signed.digest,
          signed.keyHint,
          signed.bundle,
          now,
          ...(event
            ? [
                executionId,
                executionId,
                event.type,
                JSON.stringify(
                  withStatement(event.payload, 'statement', {
                    sequence: signed.sequence,
                    digest: signed.digest,
                  }),
                ),
                now,
              ]
            : []),
        ],
      );
      if (result.rows.length !== 1) throw lost();
      return event ? Number(result.rows[0].seq) : undefined;
    });
  }

  /**
   * Changes the status of an execution that no worker holds (queued, waiting for approval, needing
   * attention), compare-and-set on the expected statuses, with its event in the same transaction.
   * Returns the event's sequence number (0 without an event), or false when it was not in one.
   */
  async transitionIdle(
    id: string,
    from: ExecutionStatus[],
    patch: {
      status: ExecutionStatus;
      statusMessage?: string | null;
      currentStep?: number;
    },
    step?: { index: number; patch: StepRunPatch },
    event?: { type: string; payload?: Record<string, unknown> },
  ): Promise<number | false> {
    return this.writeTransaction(async tx => {
      const now = new Date();
      const updated = await tx<RawExecutionRow>('executions')
        .where({ id })
        .whereIn('status', from)
        .whereNull('lease_owner')
        .update({
          status: patch.status,
          ...(patch.statusMessage !== undefined
            ? { status_message: patch.statusMessage }
            : {}),
          ...(patch.currentStep !== undefined
            ? { current_step: patch.currentStep }
            : {}),
          updated_at: now,
          ...(TERMINAL_STATUSES.includes(patch.status)
            ? { finished_at: now }
            : {}),
        });
      if (updated !== 1) return false;
      let statement: StatementRef | undefined;
      if (step) {
        await tx<RawStepRunRow>('step_runs')
          .where({ execution_id: id, step_index: step.index })
          .update(stepPatchToRow(step.patch));
        if (this.attests(step.patch)) {
          statement = await this.attestStep(tx, id, step.index);
        }
      }
      const checkpoint = TERMINAL_STATUSES.includes(patch.status)
        ? await this.attestCheckpoint(tx, id)
        : undefined;
      return event
        ? this.appendEventTx(
            tx,
            id,
            event.type,
            withStatement(
              withStatement(event.payload, 'statement', statement),
              'checkpoint',
              checkpoint,
            ),
          )
        : 0;
    });
  }

  /** Asks a running execution to stop and be cancelled; the worker that holds it acts on it. */
  async requestCancel(id: string, by: string): Promise<boolean> {
    const updated = await this.db<RawExecutionRow>('executions')
      .where({ id, status: 'running' })
      .whereNull('cancel_requested_by')
      .update({ cancel_requested_by: by, updated_at: new Date() });
    return updated === 1;
  }

  /**
   * What stops an execution at a step boundary, in one query: the engaged kill switches in its
   * scope and a cancel request.
   */
  async checkStop(target: {
    entityRef: string;
    runbookRef: string;
    executionId: string;
  }): Promise<{ switches: KillSwitch[]; cancelRequestedBy?: string }> {
    const rows: Array<RawKillSwitchRow & { cancel: string | null }> =
      await this.db('executions as e')
        .leftJoin('kill_switches as k', join =>
          join.onNull('k.released_at').andOn(scope =>
            scope
              .onVal('k.scope', 'global')
              .orOn(j =>
                j
                  .onVal('k.scope', 'entity')
                  .andOnVal('k.target', target.entityRef),
              )
              .orOn(j =>
                j
                  .onVal('k.scope', 'runbook')
                  .andOnVal('k.target', target.runbookRef),
              )
              .orOn(j =>
                j
                  .onVal('k.scope', 'execution')
                  .andOnVal('k.target', target.executionId),
              ),
          ),
        )
        .where('e.id', target.executionId)
        .select(
          'e.cancel_requested_by as cancel',
          'k.id',
          'k.scope',
          'k.target',
          'k.reason',
          'k.engaged_by',
          'k.engaged_at',
          'k.released_by',
          'k.released_at',
        );
    return {
      switches: rows.filter(r => r.id).map(killSwitchFromRow),
      cancelRequestedBy: rows[0]?.cancel ?? undefined,
    };
  }

  /** Of the given executions, those with a cancel request, and who asked. */
  async listCancelRequests(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db<RawExecutionRow>('executions')
      .whereIn('id', ids)
      .whereNotNull('cancel_requested_by')
      .select('id', 'cancel_requested_by');
    return new Map(rows.map(r => [r.id, r.cancel_requested_by!]));
  }

  /**
   * Puts running executions whose lease expired (their worker died) back in the queue, so any
   * replica picks them up. Returns their ids.
   */
  async requeueExpired(): Promise<string[]> {
    const now = new Date();
    return this.writeTransaction(async tx => {
      const rows = await tx<RawExecutionRow>('executions')
        .where('status', 'running')
        .andWhere('lease_expires_at', '<', now)
        .select('id');
      const ids = rows.map(r => r.id);
      if (ids.length === 0) return [];
      await tx<RawExecutionRow>('executions')
        .whereIn('id', ids)
        .andWhere('status', 'running')
        .andWhere('lease_expires_at', '<', now)
        .update({
          status: 'queued',
          lease_owner: null,
          lease_expires_at: null,
          updated_at: now,
        });
      return ids;
    });
  }

  /** Appends an event to an execution's log and returns its sequence number. */
  async appendEvent(
    executionId: string,
    type: string,
    payload: Record<string, unknown> = {},
  ): Promise<number> {
    return retryOnSequenceClash(() =>
      this.appendEventTx(this.db, executionId, type, payload),
    );
  }

  private async appendEventTx(
    db: Knex,
    executionId: string,
    type: string,
    payload: Record<string, unknown>,
  ): Promise<number> {
    // one statement: the next sequence number and the insert together
    const result = await db.raw(
      `INSERT INTO execution_events (execution_id, seq, type, payload, created_at)
       SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ? FROM execution_events WHERE execution_id = ?
       RETURNING seq`,
      [executionId, type, JSON.stringify(payload), new Date(), executionId],
    );
    const rows = Array.isArray(result) ? result : result.rows;
    return Number(rows[0].seq);
  }

  /** Events of an execution after a sequence number, in order. */
  async listEvents(
    executionId: string,
    afterSeq = 0,
  ): Promise<ExecutionEvent[]> {
    const rows = await this.db<RawEventRow>('execution_events')
      .where({ execution_id: executionId })
      .andWhere('seq', '>', afterSeq)
      .orderBy('seq');
    return rows.map(row => ({
      executionId: row.execution_id,
      seq: Number(row.seq),
      type: row.type,
      payload: JSON.parse(row.payload),
      createdAt: toDate(row.created_at),
    }));
  }

  /**
   * Decides on the step an execution waits on, serialised with every other decision on it: locks
   * the execution while it waits for approval on `stepIndex`, hands its state (with the decisions
   * of the step's current approval request) to `decide`, and writes what `decide` returns in the
   * same transaction. `decide` throws to refuse; nothing is written then. ConflictError when the
   * execution does not wait on that step.
   */
  async decideGate(
    id: string,
    stepIndex: number,
    decide: (state: {
      execution: Execution;
      step: StepRun;
      approvals: Approval[];
    }) => GateWrite,
  ): Promise<GateWrite & { seq?: number }> {
    return this.writeTransaction(async tx => {
      const now = new Date();
      const locked = await tx<RawExecutionRow>('executions')
        .where({ id, status: 'waiting-approval', current_step: stepIndex })
        .whereNull('lease_owner')
        .update({ updated_at: now });
      if (locked !== 1) {
        const current = await this.getExecutionTx(tx, id);
        const last = await tx<RawApprovalRow>('approvals')
          .where({ execution_id: id, step_index: stepIndex })
          .orderBy('created_at', 'desc')
          .first();
        throw new ConflictError(
          `This execution no longer waits for a decision on step ${
            stepIndex + 1
          }: it is ${current.status}${
            current.statusMessage ? ` (${current.statusMessage})` : ''
          }${
            last
              ? `; last decision: ${last.decision} by ${
                  last.decided_by
                } at ${toDate(last.created_at).toISOString()}`
              : ''
          }`,
        );
      }
      const execution = await this.getExecutionTx(tx, id);
      const stepRow = await tx<RawStepRunRow>('step_runs')
        .where({ execution_id: id, step_index: stepIndex })
        .first();
      const step = stepFromRow(stepRow!);
      const approvals = (
        await tx<RawApprovalRow>('approvals')
          .where({
            execution_id: id,
            step_index: stepIndex,
            attempt: step.attempt,
          })
          .orderBy('created_at')
      ).map(approvalFromRow);
      const write = decide({ execution, step, approvals });
      for (const approval of write.approvals ?? []) {
        await tx<RawApprovalRow>('approvals').insert({
          id: randomUUID(),
          execution_id: id,
          step_index: approval.stepIndex,
          attempt: approval.attempt,
          plan_digest: approval.planDigest,
          decided_by: approval.decidedBy,
          decision: approval.decision,
          comment: approval.comment ?? null,
          owner_of: approval.ownerOf ?? null,
          created_at: now,
          expires_at: approval.expiresAt ?? null,
        });
      }
      if (write.execution) {
        await tx<RawExecutionRow>('executions')
          .where({ id })
          .update({
            status: write.execution.status,
            status_message: write.execution.statusMessage ?? null,
            updated_at: now,
            ...(TERMINAL_STATUSES.includes(write.execution.status)
              ? { finished_at: now }
              : {}),
          });
      }
      let statement: StatementRef | undefined;
      if (write.step) {
        await tx<RawStepRunRow>('step_runs')
          .where({ execution_id: id, step_index: stepIndex })
          .update(stepPatchToRow(write.step));
        if (this.attests(write.step)) {
          statement = await this.attestStep(tx, id, stepIndex);
        }
      }
      const checkpoint =
        write.execution && TERMINAL_STATUSES.includes(write.execution.status)
          ? await this.attestCheckpoint(tx, id)
          : undefined;
      const seq = write.event
        ? await this.appendEventTx(
            tx,
            id,
            write.event.type,
            withStatement(
              withStatement(write.event.payload, 'statement', statement),
              'checkpoint',
              checkpoint,
            ),
          )
        : undefined;
      return { ...write, seq };
    });
  }

  private async getExecutionTx(db: Knex, id: string): Promise<Execution> {
    const row = await db<RawExecutionRow>('executions').where({ id }).first();
    if (!row) throw new NotFoundError(`No execution ${id}`);
    return executionFromRow(row);
  }

  /**
   * The steps that wait for approval now, oldest execution first, with the escalation levels
   * already notified; with `visible`, only those of executions the reader may see.
   */
  async listWaitingGates(
    options: { visible?: PermissionCriteria<ExecutionCondition> } = {},
  ): Promise<
    Array<{ execution: Execution; step: StepRun; escalatedLevels: number[] }>
  > {
    const rows: RawExecutionRow[] = await this.visibleExecutions(
      options.visible,
    )
      .where('status', 'waiting-approval')
      .whereExists(
        this.db('step_runs as s')
          .select(this.db.raw('1'))
          .whereRaw('s.execution_id = executions.id')
          .andWhereRaw('s.step_index = executions.current_step')
          .andWhere('s.status', 'waiting-approval'),
      )
      .orderBy('created_at');
    if (rows.length === 0) return [];
    const ids = rows.map(r => r.id);
    const steps = await this.db<RawStepRunRow>('step_runs')
      .whereIn('execution_id', ids)
      .andWhere('status', 'waiting-approval');
    const escalated = await this.db<RawEventRow>('execution_events')
      .whereIn('execution_id', ids)
      .andWhere('type', 'approval-escalated')
      .select('execution_id', 'payload');
    return rows.flatMap(row => {
      const execution = executionFromRow(row);
      const stepRow = steps.find(
        s =>
          s.execution_id === row.id &&
          Number(s.step_index) === execution.currentStep,
      );
      if (!stepRow) return []; // moved on between the two reads
      const step = stepFromRow(stepRow);
      const escalatedLevels = escalated
        .filter(e => e.execution_id === row.id)
        .map(e => JSON.parse(e.payload))
        .filter(p => p.step === step.stepIndex && p.attempt === step.attempt)
        .map(p => Number(p.level));
      return [{ execution, step, escalatedLevels }];
    });
  }

  /**
   * The figures of an entity's executions (those the reader may see, with `visible`): the
   * executions created since `weekStarts[0]` counted by week, runbook and status, how long the
   * ended ones took, and the newest execution of each runbook at any time.
   */
  async tallyExecutions(
    entityRef: string,
    weekStarts: Date[],
    options: { visible?: PermissionCriteria<ExecutionCondition> } = {},
  ): Promise<ExecutionTally> {
    const ofEntity = () =>
      this.visibleExecutions(options.visible).where('entity_ref', entityRef);
    const inWindow = () => ofEntity().where('created_at', '>=', weekStarts[0]);
    // the index of the latest week start at or before created_at: portable, unlike date functions
    const latestFirst = weekStarts.map((start, index) => ({ start, index }));
    latestFirst.reverse();
    const week = () =>
      this.db.raw(
        `CASE ${latestFirst
          .map(w => `WHEN created_at >= ? THEN ${w.index}`)
          .join(' ')} END AS week`,
        latestFirst.map(w => w.start),
      );
    const counts: Array<{
      week: number | string;
      runbook_ref: string;
      status: string;
      count: number | string;
    }> = await this.db
      .from(inWindow().select(week(), 'runbook_ref', 'status').as('w'))
      .select('week', 'runbook_ref', 'status')
      .count({ count: '*' })
      .groupBy('week', 'runbook_ref', 'status');
    const ended: Array<{
      week: number | string;
      runbook_ref: string;
      created_at: DbTimestamp;
      finished_at: DbTimestamp;
    }> = await inWindow()
      .whereIn('status', TERMINAL_STATUSES as ExecutionStatus[])
      .whereNotNull('finished_at')
      .select(week(), 'runbook_ref', 'created_at', 'finished_at');
    // what the learning loop counts: executions that needed a person, that a person stopped, and
    // the steps that fail
    const ids = () => inWindow().select('id');
    const perRunbook = async (
      table: 'execution_events' | 'approvals',
      column: string,
      values: string[],
    ) =>
      (
        (await this.db('executions as e')
          .whereIn('e.id', ids())
          .whereExists(q =>
            q
              .from(table)
              .whereRaw('?? = ??', [`${table}.execution_id`, 'e.id'])
              .whereIn(column, values),
          )
          .select('e.runbook_ref')
          .count({ count: '*' })
          .groupBy('e.runbook_ref')) as Array<{
          runbook_ref: string;
          count: number | string;
        }>
      ).map(row => ({
        runbookRef: row.runbook_ref,
        count: Number(row.count),
      }));
    // a step that needed a person, or a kill switch that stopped the execution for one
    const attention = await perRunbook('execution_events', 'type', [
      'needs-attention',
      'kill-switch',
    ]);
    const rejected = await perRunbook('approvals', 'decision', ['rejected']);
    const failedSteps: Array<{
      runbook_ref: string;
      step_id: string;
      count: number | string;
    }> = await this.db('step_runs as s')
      .join('executions as e', 'e.id', 's.execution_id')
      .whereIn('s.execution_id', ids())
      .where('s.status', 'failed')
      .select('e.runbook_ref', 's.step_id')
      .count({ count: '*' })
      .groupBy('e.runbook_ref', 's.step_id');
    const newest = await this.db<RawExecutionRow>('executions').whereIn(
      'id',
      this.db
        .from(
          ofEntity()
            .select(
              'id',
              this.db.raw(
                'ROW_NUMBER() OVER (PARTITION BY runbook_ref ORDER BY created_at DESC, id DESC) AS newness',
              ),
            )
            .as('r'),
        )
        .where('newness', 1)
        .select('id'),
    );
    return {
      counts: counts.map(row => ({
        week: Number(row.week),
        runbookRef: row.runbook_ref,
        status: row.status as ExecutionStatus,
        count: Number(row.count),
      })),
      durations: ended.map(row => ({
        week: Number(row.week),
        runbookRef: row.runbook_ref,
        ms:
          toDate(row.finished_at).getTime() - toDate(row.created_at).getTime(),
      })),
      newest: newest.map(executionFromRow),
      attention,
      rejected,
      failedSteps: failedSteps.map(row => ({
        runbookRef: row.runbook_ref,
        stepId: row.step_id,
        count: Number(row.count),
      })),
    };
  }

  /** Decisions on a step, oldest first. */
  async listApprovals(
    executionId: string,
    stepIndex?: number,
  ): Promise<Approval[]> {
    let query = this.db<RawApprovalRow>('approvals').where({
      execution_id: executionId,
    });
    if (stepIndex !== undefined)
      query = query.andWhere('step_index', stepIndex);
    const rows = await query.orderBy('created_at');
    return rows.map(approvalFromRow);
  }

  /** Engages a kill switch. */
  async engageKillSwitch(input: {
    scope: KillSwitchScope;
    target: string;
    reason: string;
    engagedBy: string;
  }): Promise<KillSwitch> {
    const row: RawKillSwitchRow = {
      id: randomUUID(),
      scope: input.scope,
      target: input.scope === 'global' ? '' : input.target,
      reason: input.reason,
      engaged_by: input.engagedBy,
      engaged_at: new Date(),
      released_by: null,
      released_at: null,
    };
    await this.db<RawKillSwitchRow>('kill_switches').insert(row);
    return killSwitchFromRow(row);
  }

  /** Releases an engaged kill switch; NotFoundError when there is none with that id engaged. */
  async releaseKillSwitch(id: string, releasedBy: string): Promise<KillSwitch> {
    const updated = await this.db<RawKillSwitchRow>('kill_switches')
      .where({ id })
      .whereNull('released_at')
      .update({ released_by: releasedBy, released_at: new Date() });
    if (updated !== 1) {
      throw new NotFoundError(`No engaged kill switch ${id}`);
    }
    const row = await this.db<RawKillSwitchRow>('kill_switches')
      .where({ id })
      .first();
    return killSwitchFromRow(row!);
  }

  /** Kill switches, the engaged ones only unless asked. */
  async listKillSwitches(
    options: { includeReleased?: boolean } = {},
  ): Promise<KillSwitch[]> {
    let query = this.db<RawKillSwitchRow>('kill_switches');
    if (!options.includeReleased) query = query.whereNull('released_at');
    const rows = await query.orderBy('engaged_at', 'desc');
    return rows.map(killSwitchFromRow);
  }

  /** The engaged kill switches that stop an execution (or a new one) with these refs. */
  async findEngagedKillSwitches(target: {
    entityRef: string;
    runbookRef: string;
    executionId?: string;
  }): Promise<KillSwitch[]> {
    const rows = await this.db<RawKillSwitchRow>('kill_switches')
      .whereNull('released_at')
      .andWhere(q => {
        q.where('scope', 'global')
          .orWhere(q2 =>
            q2.where({ scope: 'entity', target: target.entityRef }),
          )
          .orWhere(q2 =>
            q2.where({ scope: 'runbook', target: target.runbookRef }),
          );
        if (target.executionId) {
          q.orWhere(q2 =>
            q2.where({ scope: 'execution', target: target.executionId }),
          );
        }
      })
      .orderBy('engaged_at');
    return rows.map(killSwitchFromRow);
  }
}

const conditionColumns: Record<ExecutionCondition['property'], string> = {
  requester: 'requester',
  entityOwner: 'entity_owner',
  runbookOwner: 'runbook_owner',
};

/**
 * Turns permission criteria over executions into a knex where clause that agrees with the rules'
 * `apply`: a missing owner matches nothing (so `not` shows it), an empty `anyOf` matches nothing.
 */
function applyCriteria(
  query: Knex.QueryBuilder,
  criteria: PermissionCriteria<ExecutionCondition>,
): void {
  if (isAndCriteria(criteria)) {
    for (const c of criteria.allOf) query.andWhere(q => applyCriteria(q, c));
  } else if (isOrCriteria(criteria)) {
    if (criteria.anyOf.length === 0) {
      query.whereRaw('1 = 0');
      return;
    }
    query.where(q => {
      for (const c of criteria.anyOf) q.orWhere(q2 => applyCriteria(q2, c));
    });
  } else if (isNotCriteria(criteria)) {
    query.whereNot(q => applyCriteria(q, criteria.not));
  } else if (criteria.values.length === 0) {
    query.whereRaw('1 = 0');
  } else {
    const column = conditionColumns[criteria.property];
    query.whereNotNull(column).whereIn(column, criteria.values);
  }
}

/** An event's payload with the signed statement written with it. */
function withStatement(
  payload: Record<string, unknown> | undefined,
  key: 'statement' | 'checkpoint',
  ref: StatementRef | undefined,
): Record<string, unknown> {
  return ref ? { ...payload, [key]: ref } : payload ?? {};
}

function isSequenceClash(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Two writers of one execution's events may take the same next sequence number; the primary key
 * refuses the second, whose statement changed nothing, so it is safe to run again.
 */
async function retryOnSequenceClash<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (!isSequenceClash(e) || attempt >= 50) throw e;
      await new Promise(r =>
        setTimeout(r, 1 + Math.random() * 5 * Math.min(attempt + 1, 10)),
      );
    }
  }
}

function encodeCursor(time: Date, id: string): string {
  return Buffer.from(JSON.stringify([time.getTime(), id])).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string): [Date, string] {
  try {
    const [time, id] = JSON.parse(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    );
    if (typeof time !== 'number' || typeof id !== 'string') throw new Error();
    return [new Date(time), id];
  } catch {
    throw new InputError(`Invalid cursor '${cursor}'`);
  }
}
