import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  ExecutionSummaryResponse,
  IncidentResponse,
  ModelUsageResponse,
  ProposalResponse,
  ProposalStatus,
} from '@runbooks/plugin-runbooks-common';
import { Knex } from 'knex';
import { randomUUID } from 'node:crypto';

const migrationsDir = resolvePackagePath(
  '@runbooks/plugin-runbooks-backend',
  'migrations',
);

type DbTimestamp = Date | string | number;

interface RawIncidentRow {
  id: string;
  source: string;
  entity_ref: string | null;
  title: string;
  incident: string;
  planner: string;
  no_action: string | null;
  usage: string | null;
  dedupe_key: string | null;
  created_by: string;
  created_at: DbTimestamp;
}

interface RawProposalRow {
  id: string;
  incident_id: string;
  entity_ref: string;
  runbook_ref: string;
  parameters: string;
  rationale: string;
  planner: string;
  status: ProposalStatus;
  refusal: string | null;
  execution_id: string | null;
  created_by: string;
  created_at: DbTimestamp;
  decided_by: string | null;
  decided_at: DbTimestamp | null;
}

interface RawSummaryRow {
  execution_id: string;
  text: string;
  by: 'template' | 'model';
  usage: string | null;
  created_at: DbTimestamp;
}

const iso = (v: DbTimestamp) =>
  (v instanceof Date ? v : new Date(v)).toISOString();

function toProposal(row: RawProposalRow): ProposalResponse {
  return {
    id: row.id,
    incidentId: row.incident_id,
    entityRef: row.entity_ref,
    runbookRef: row.runbook_ref,
    parameters: JSON.parse(row.parameters),
    rationale: row.rationale,
    planner: row.planner,
    status: row.status,
    refusal: row.refusal ?? undefined,
    executionId: row.execution_id ?? undefined,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    decidedBy: row.decided_by ?? undefined,
    decidedAt: row.decided_at ? iso(row.decided_at) : undefined,
  };
}

/** A proposal about to be recorded. */
export interface NewProposal {
  runbookRef: string;
  entityRef: string;
  parameters: Record<string, unknown>;
  rationale: string;
  status: 'pending' | 'refused';
  refusal?: string;
}

/** Stores the agent's incidents, proposals and execution summaries. */
export class AgentStore {
  static async create(options: {
    database: DatabaseService;
  }): Promise<AgentStore> {
    const client = await options.database.getClient();
    if (!options.database.migrations?.skip) {
      await client.migrate.latest({ directory: migrationsDir });
    }
    return new AgentStore(client);
  }

  private constructor(private readonly db: Knex) {}

  /** Records an incident with every proposal the planner made, in one transaction. */
  async recordIncident(input: {
    source: string;
    entityRef?: string;
    title: string;
    incident: unknown;
    planner: string;
    noAction?: string;
    usage?: ModelUsageResponse;
    dedupeKey?: string;
    createdBy: string;
    proposals: NewProposal[];
  }): Promise<IncidentResponse> {
    const now = new Date();
    const id = randomUUID();
    const rows: RawProposalRow[] = input.proposals.map(p => ({
      id: randomUUID(),
      incident_id: id,
      entity_ref: p.entityRef,
      runbook_ref: p.runbookRef,
      parameters: JSON.stringify(p.parameters),
      rationale: p.rationale,
      planner: input.planner,
      status: p.status,
      refusal: p.refusal ?? null,
      execution_id: null,
      created_by: input.createdBy,
      created_at: now,
      decided_by: null,
      decided_at: null,
    }));
    await this.db.transaction(async tx => {
      await tx<RawIncidentRow>('agent_incidents').insert({
        id,
        source: input.source,
        entity_ref: input.entityRef ?? null,
        title: input.title.slice(0, 500),
        incident: JSON.stringify(input.incident),
        planner: input.planner,
        no_action: input.noAction ?? null,
        usage: input.usage ? JSON.stringify(input.usage) : null,
        dedupe_key: input.dedupeKey ?? null,
        created_by: input.createdBy,
        created_at: now,
      });
      if (rows.length > 0) await tx('agent_proposals').insert(rows);
    });
    return {
      id,
      source: input.source,
      entityRef: input.entityRef,
      title: input.title.slice(0, 500),
      planner: input.planner,
      noAction: input.noAction,
      usage: input.usage,
      createdBy: input.createdBy,
      createdAt: now.toISOString(),
      proposals: rows.map(toProposal),
    };
  }

  /** The incident recorded first under a dedupe key, if any. */
  async findIncident(dedupeKey: string): Promise<IncidentResponse | undefined> {
    const row = await this.db<RawIncidentRow>('agent_incidents')
      .where({ dedupe_key: dedupeKey })
      .orderBy('created_at')
      .first('id');
    return row ? this.getIncident(row.id) : undefined;
  }

  async getIncident(id: string): Promise<IncidentResponse> {
    const row = await this.db<RawIncidentRow>('agent_incidents')
      .where({ id })
      .first();
    if (!row) throw new NotFoundError(`No incident ${id}`);
    const proposals = await this.db<RawProposalRow>('agent_proposals')
      .where({ incident_id: id })
      .orderBy('id');
    return {
      id: row.id,
      source: row.source,
      entityRef: row.entity_ref ?? undefined,
      title: row.title,
      planner: row.planner,
      noAction: row.no_action ?? undefined,
      usage: row.usage ? JSON.parse(row.usage) : undefined,
      createdBy: row.created_by,
      createdAt: iso(row.created_at),
      proposals: proposals.map(toProposal),
    };
  }

  async getProposal(id: string): Promise<ProposalResponse> {
    const row = await this.db<RawProposalRow>('agent_proposals')
      .where({ id })
      .first();
    if (!row) throw new NotFoundError(`No proposal ${id}`);
    return toProposal(row);
  }

  /** Proposals for an entity, newest first. */
  async listProposals(filter: {
    entityRef: string;
    status?: ProposalStatus[];
    limit?: number;
  }): Promise<ProposalResponse[]> {
    let query = this.db<RawProposalRow>('agent_proposals')
      .where({ entity_ref: filter.entityRef })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(Math.min(Math.max(filter.limit ?? 50, 1), 200));
    if (filter.status?.length) query = query.whereIn('status', filter.status);
    return (await query).map(toProposal);
  }

  /**
   * Moves a pending proposal to `started` or `dismissed`; ConflictError when someone else decided
   * it first.
   */
  async decideProposal(
    id: string,
    patch: { status: 'started' | 'dismissed'; by: string },
  ): Promise<ProposalResponse> {
    const count = await this.db<RawProposalRow>('agent_proposals')
      .where({ id, status: 'pending' })
      .update({
        status: patch.status,
        decided_by: patch.by,
        decided_at: new Date(),
      });
    if (count === 0) {
      const now = await this.getProposal(id);
      throw new ConflictError(
        `Proposal ${id} is ${now.status}${
          now.decidedBy ? ` (by ${now.decidedBy})` : ''
        }, no longer pending`,
      );
    }
    return this.getProposal(id);
  }

  /** Records the execution a started proposal became. */
  async linkExecution(
    id: string,
    executionId: string,
  ): Promise<ProposalResponse> {
    await this.db<RawProposalRow>('agent_proposals')
      .where({ id, status: 'started' })
      .update({ execution_id: executionId });
    return this.getProposal(id);
  }

  /** Puts back a proposal whose start failed after it was claimed. */
  async reopenProposal(id: string): Promise<void> {
    await this.db<RawProposalRow>('agent_proposals')
      .where({ id, status: 'started', execution_id: null })
      .update({ status: 'pending', decided_by: null, decided_at: null });
  }

  async getSummary(
    executionId: string,
  ): Promise<ExecutionSummaryResponse | undefined> {
    const row = await this.db<RawSummaryRow>('execution_summaries')
      .where({ execution_id: executionId })
      .first();
    return row
      ? {
          executionId: row.execution_id,
          text: row.text,
          by: row.by,
          usage: row.usage ? JSON.parse(row.usage) : undefined,
          createdAt: iso(row.created_at),
        }
      : undefined;
  }

  /** Keeps the first summary written for an execution; returns the one stored. */
  async saveSummary(
    summary: Omit<ExecutionSummaryResponse, 'createdAt'>,
  ): Promise<ExecutionSummaryResponse> {
    await this.db<RawSummaryRow>('execution_summaries')
      .insert({
        execution_id: summary.executionId,
        text: summary.text,
        by: summary.by,
        usage: summary.usage ? JSON.stringify(summary.usage) : null,
        created_at: new Date(),
      })
      .onConflict('execution_id')
      .ignore();
    return (await this.getSummary(summary.executionId))!;
  }
}
