import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';

const migrationsDir = resolvePackagePath(
  '@runbooks/plugin-runbooks-backend',
  'migrations',
);

/** How an execution runs: every step's dry-run only, or for real. */
export type ExecutionMode = 'dry-run' | 'execute';

/** The status of an execution. */
export type ExecutionStatus =
  | 'queued'
  | 'running'
  | 'waiting-approval'
  | 'needs-attention'
  | 'succeeded'
  | 'failed'
  | 'cancelled';

/** An execution as the rest of the backend sees it. */
export interface Execution {
  id: string;
  runbookRef: string;
  runbookDigest: string;
  runbookContent: unknown;
  entityRef: string;
  parameters: Record<string, unknown>;
  requester: string;
  mode: ExecutionMode;
  status: ExecutionStatus;
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  leaseOwner?: string;
  leaseExpiresAt?: Date;
}

/** What it takes to record a new execution. */
export interface NewExecution {
  runbookRef: string;
  runbookDigest: string;
  runbookContent: unknown;
  entityRef: string;
  parameters: Record<string, unknown>;
  requester: string;
  mode: ExecutionMode;
}

type RawExecutionRow = {
  id: string;
  runbook_ref: string;
  runbook_digest: string;
  runbook_content: string;
  entity_ref: string;
  parameters: string;
  requester: string;
  mode: string;
  status: string;
  created_at: DbTimestamp;
  updated_at: DbTimestamp;
  started_at: DbTimestamp | null;
  finished_at: DbTimestamp | null;
  lease_owner: string | null;
  lease_expires_at: DbTimestamp | null;
};

// PostgreSQL returns Date; SQLite returns the epoch milliseconds knex stored, or a string
type DbTimestamp = Date | string | number;

const toDate = (v: DbTimestamp) => (v instanceof Date ? v : new Date(v));
const toOptionalDate = (v: DbTimestamp | null) =>
  v === null ? undefined : toDate(v);

function fromRow(row: RawExecutionRow): Execution {
  return {
    id: row.id,
    runbookRef: row.runbook_ref,
    runbookDigest: row.runbook_digest,
    runbookContent: JSON.parse(row.runbook_content),
    entityRef: row.entity_ref,
    parameters: JSON.parse(row.parameters),
    requester: row.requester,
    mode: row.mode as ExecutionMode,
    status: row.status as ExecutionStatus,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    startedAt: toOptionalDate(row.started_at),
    finishedAt: toOptionalDate(row.finished_at),
    leaseOwner: row.lease_owner ?? undefined,
    leaseExpiresAt: toOptionalDate(row.lease_expires_at),
  };
}

/** Stores executions in the plugin's database (SQLite or PostgreSQL through knex). */
export class ExecutionStore {
  static async create(options: {
    database: DatabaseService;
  }): Promise<ExecutionStore> {
    const client = await options.database.getClient();
    if (!options.database.migrations?.skip) {
      await client.migrate.latest({ directory: migrationsDir });
    }
    return new ExecutionStore(client);
  }

  private constructor(private readonly db: Knex) {}

  /** Records a new execution in status `queued`. */
  async createExecution(input: NewExecution): Promise<Execution> {
    const now = new Date();
    const row: RawExecutionRow = {
      id: randomUUID(),
      runbook_ref: input.runbookRef,
      runbook_digest: input.runbookDigest,
      runbook_content: JSON.stringify(input.runbookContent),
      entity_ref: input.entityRef,
      parameters: JSON.stringify(input.parameters),
      requester: input.requester,
      mode: input.mode,
      status: 'queued',
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
      lease_owner: null,
      lease_expires_at: null,
    };
    await this.db<RawExecutionRow>('executions').insert(row);
    return fromRow(row);
  }

  /** One execution, or NotFoundError. */
  async getExecution(id: string): Promise<Execution> {
    const row = await this.db<RawExecutionRow>('executions')
      .where({ id })
      .first();
    if (!row) {
      throw new NotFoundError(`No execution ${id}`);
    }
    return fromRow(row);
  }

  /** Executions of one entity, newest first. */
  async listExecutionsForEntity(
    entityRef: string,
    options: { limit?: number } = {},
  ): Promise<Execution[]> {
    const rows = await this.db<RawExecutionRow>('executions')
      .where({ entity_ref: entityRef })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(options.limit ?? 50);
    return rows.map(fromRow);
  }
}
