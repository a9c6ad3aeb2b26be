import { CompoundEntityRef } from '@backstage/catalog-model';
import {
  createApiRef,
  DiscoveryApi,
  FetchApi,
} from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import { readBody, ServerSentEventParser } from './sse';
import {
  AgentAskRequest,
  ApprovalInboxResponse,
  ExecutionStatsResponse,
  ExecutionStatusValue,
  KillSwitchListResponse,
  KillSwitchResponse,
  EntityRunbooksResponse,
  ExecutionDetailsResponse,
  ExecutionListResponse,
  ExecutionResponse,
  ExecutionSummaryResponse,
  IncidentResponse,
  ProposalListResponse,
  ProposalResponse,
  ProposalStatus,
  RunbookHealthResponse,
} from '@runbooks/plugin-runbooks-common';

/**
 * A request to run a runbook against an entity.
 * @public
 */
export interface CreateExecutionRequest {
  runbookRef: string;
  entityRef: string;
  parameters: Record<string, unknown>;
  mode: 'dry-run' | 'execute';
}

/**
 * Filters of the execution history, newest first, a page at a time.
 * @public
 */
export interface ExecutionListFilter {
  entityRef?: string;
  runbookRef?: string;
  requester?: string;
  status?: ExecutionStatusValue[];
  /** ISO time: created at or after. */
  createdAfter?: string;
  /** ISO time: created before. */
  createdBefore?: string;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  limit?: number;
}

/**
 * One event of an execution's live stream.
 * @public
 */
export interface ExecutionStreamEvent {
  seq: number;
  type: string;
  payload: Record<string, unknown>;
  createdAt: string;
}

/**
 * A request to engage a kill switch.
 * @public
 */
export interface EngageKillSwitchRequest {
  scope: KillSwitchResponse['scope'];
  /** The entity ref, runbook ref or execution id; none for `global`. */
  target?: string;
  reason: string;
}

/**
 * The runbooks backend, as the frontend uses it.
 * @public
 */
export interface RunbooksApi {
  /** The runbooks that apply to an entity, with parameters resolved against it. */
  getEntityRunbooks(entity: CompoundEntityRef): Promise<EntityRunbooksResponse>;
  /** Starts an execution (400 names a bad parameter; 409 when a kill switch holds). */
  createExecution(request: CreateExecutionRequest): Promise<ExecutionResponse>;
  /** Executions, newest first, filtered, a page at a time. */
  listExecutions(filter: ExecutionListFilter): Promise<ExecutionListResponse>;
  /** Figures of an entity's executions: per runbook and per week. */
  getExecutionStats(
    entityRef: string,
    weeks?: number,
  ): Promise<ExecutionStatsResponse>;
  /**
   * Follows an execution's events live (server-sent events), from after `after`, until the
   * execution ends or `signal` aborts. Resolves with the last event's seq when the stream ends;
   * rejects when the connection fails (the caller reconnects from the last seq it saw).
   */
  streamEvents(
    id: string,
    options: {
      after: number;
      signal: AbortSignal;
      onEvent: (event: ExecutionStreamEvent) => void;
      /** Called once the server accepted the stream. */
      onOpen?: () => void;
    },
  ): Promise<number>;
  /** One execution with its steps and events. */
  getExecution(id: string): Promise<ExecutionDetailsResponse>;
  /** The execution's signed statements: Sigstore bundles, one JSON per line. */
  getBundles(id: string): Promise<string>;
  /** Approves or rejects the plan a step waits with. */
  decide(
    id: string,
    stepIndex: number,
    decision: {
      decision: 'approved' | 'rejected';
      planDigest: string;
      comment?: string;
    },
  ): Promise<ExecutionResponse>;
  /** Cancels an execution. */
  cancel(id: string): Promise<ExecutionResponse>;
  /** Resolves an execution that needs attention: retry the step, skip it, or end the execution. */
  resolveAttention(
    id: string,
    action: 'resume' | 'skip' | 'abort',
  ): Promise<ExecutionResponse>;
  /** Checks the entity's runbooks against the system now (reads and dry-runs only). */
  checkHealth(entity: CompoundEntityRef): Promise<{
    items: RunbookHealthResponse[];
  }>;
  /** Executions waiting for the caller's approval, and the caller's own waiting requests. */
  getApprovalsInbox(): Promise<ApprovalInboxResponse>;
  /** Kill switches (engaged ones unless `includeReleased`), and whether the caller may manage them. */
  listKillSwitches(options?: {
    includeReleased?: boolean;
  }): Promise<KillSwitchListResponse>;
  /** Engages a kill switch: executions in its scope stop at the next step boundary. */
  engageKillSwitch(
    request: EngageKillSwitchRequest,
  ): Promise<KillSwitchResponse>;
  /** Releases an engaged kill switch. */
  releaseKillSwitch(id: string): Promise<KillSwitchResponse>;
  /** Asks the agent which runbooks answer an incident on the entity; nothing starts by itself. */
  ask(
    entity: CompoundEntityRef,
    body: AgentAskRequest,
  ): Promise<IncidentResponse>;
  /** The agent's proposals for an entity, newest first, optionally of some statuses only. */
  listProposals(
    entityRef: string,
    status?: ProposalStatus[],
  ): Promise<ProposalListResponse>;
  /** Starts a pending proposal as an execution (409 when it is no longer pending). */
  startProposal(
    id: string,
    mode: 'dry-run' | 'execute',
  ): Promise<ExecutionResponse>;
  /** Dismisses a pending proposal. */
  dismissProposal(id: string): Promise<ProposalResponse>;
  /** A readable account of an execution, as markdown. */
  getExecutionSummary(id: string): Promise<ExecutionSummaryResponse>;
}

/**
 * The API ref of {@link RunbooksApi}.
 * @public
 */
export const runbooksApiRef = createApiRef<RunbooksApi>({
  id: 'plugin.runbooks.service',
});

/**
 * The default {@link RunbooksApi}: HTTP calls to the runbooks backend.
 * @public
 */
export class RunbooksClient implements RunbooksApi {
  constructor(
    private readonly options: {
      discoveryApi: DiscoveryApi;
      fetchApi: FetchApi;
    },
  ) {}

  /** A call to the backend; a response other than 2xx becomes a ResponseError with its reason. */
  private async fetch(path: string, init?: RequestInit): Promise<Response> {
    const base = await this.options.discoveryApi.getBaseUrl('runbooks');
    const response = await this.options.fetchApi.fetch(`${base}${path}`, {
      ...init,
      headers: init?.body
        ? { 'content-type': 'application/json', ...init.headers }
        : init?.headers,
    });
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return response;
  }

  private async request<T>(path: string, init?: RequestInit): Promise<T> {
    return (await this.fetch(path, init)).json();
  }

  private entityPath(entity: CompoundEntityRef): string {
    return [entity.kind, entity.namespace, entity.name]
      .map(encodeURIComponent)
      .join('/');
  }

  async getEntityRunbooks(
    entity: CompoundEntityRef,
  ): Promise<EntityRunbooksResponse> {
    return this.request(`/entities/${this.entityPath(entity)}/runbooks`);
  }

  async createExecution(
    request: CreateExecutionRequest,
  ): Promise<ExecutionResponse> {
    return this.request('/executions', {
      method: 'POST',
      body: JSON.stringify(request),
    });
  }

  async listExecutions(
    filter: ExecutionListFilter,
  ): Promise<ExecutionListResponse> {
    const query = new URLSearchParams();
    for (const key of [
      'entityRef',
      'runbookRef',
      'requester',
      'createdAfter',
      'createdBefore',
      'cursor',
    ] as const) {
      const value = filter[key];
      if (value) query.set(key, value);
    }
    if (filter.status?.length) query.set('status', filter.status.join(','));
    if (filter.limit) query.set('limit', String(filter.limit));
    return this.request(`/executions?${query}`);
  }

  async getExecutionStats(
    entityRef: string,
    weeks?: number,
  ): Promise<ExecutionStatsResponse> {
    const query = new URLSearchParams({ entityRef });
    if (weeks) query.set('weeks', String(weeks));
    return this.request(`/executions/stats?${query}`);
  }

  async streamEvents(
    id: string,
    options: {
      after: number;
      signal: AbortSignal;
      onEvent: (event: ExecutionStreamEvent) => void;
      onOpen?: () => void;
    },
  ): Promise<number> {
    // fetch, not EventSource: EventSource cannot send the Backstage token that fetchApi adds
    const response = await this.fetch(
      `/executions/${encodeURIComponent(id)}/events`,
      {
        headers: {
          accept: 'text/event-stream',
          'last-event-id': String(options.after),
        },
        signal: options.signal,
      },
    );
    options.onOpen?.();
    let last = options.after;
    const parser = new ServerSentEventParser(message => {
      if (!message.data) return;
      const event = JSON.parse(message.data) as ExecutionStreamEvent;
      last = event.seq;
      options.onEvent(event);
    });
    for await (const chunk of readBody(response)) {
      parser.push(chunk);
    }
    return last;
  }

  async getExecution(id: string): Promise<ExecutionDetailsResponse> {
    return this.request(`/executions/${encodeURIComponent(id)}`);
  }

  async getBundles(id: string): Promise<string> {
    return (
      await this.fetch(`/executions/${encodeURIComponent(id)}/bundles`)
    ).text();
  }

  async decide(
    id: string,
    stepIndex: number,
    decision: {
      decision: 'approved' | 'rejected';
      planDigest: string;
      comment?: string;
    },
  ): Promise<ExecutionResponse> {
    return this.request(
      `/executions/${encodeURIComponent(id)}/steps/${stepIndex}/decision`,
      { method: 'POST', body: JSON.stringify(decision) },
    );
  }

  async cancel(id: string): Promise<ExecutionResponse> {
    return this.request(`/executions/${encodeURIComponent(id)}/cancel`, {
      method: 'POST',
    });
  }

  async resolveAttention(
    id: string,
    action: 'resume' | 'skip' | 'abort',
  ): Promise<ExecutionResponse> {
    return this.request(`/executions/${encodeURIComponent(id)}/${action}`, {
      method: 'POST',
    });
  }

  async checkHealth(
    entity: CompoundEntityRef,
  ): Promise<{ items: RunbookHealthResponse[] }> {
    return this.request(`/entities/${this.entityPath(entity)}/health/check`, {
      method: 'POST',
    });
  }

  async getApprovalsInbox(): Promise<ApprovalInboxResponse> {
    return this.request('/approvals');
  }

  async listKillSwitches(options?: {
    includeReleased?: boolean;
  }): Promise<KillSwitchListResponse> {
    return this.request(
      `/kill-switches${
        options?.includeReleased ? '?includeReleased=true' : ''
      }`,
    );
  }

  async engageKillSwitch(
    request: EngageKillSwitchRequest,
  ): Promise<KillSwitchResponse> {
    return this.request('/kill-switches', {
      method: 'POST',
      body: JSON.stringify(request),
    });
  }

  async releaseKillSwitch(id: string): Promise<KillSwitchResponse> {
    return this.request(`/kill-switches/${encodeURIComponent(id)}/release`, {
      method: 'POST',
    });
  }

  async ask(
    entity: CompoundEntityRef,
    body: AgentAskRequest,
  ): Promise<IncidentResponse> {
    return this.request(`/entities/${this.entityPath(entity)}/ask`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
  }

  async listProposals(
    entityRef: string,
    status?: ProposalStatus[],
  ): Promise<ProposalListResponse> {
    const query = new URLSearchParams({ entityRef });
    if (status?.length) query.set('status', status.join(','));
    return this.request(`/proposals?${query}`);
  }

  async startProposal(
    id: string,
    mode: 'dry-run' | 'execute',
  ): Promise<ExecutionResponse> {
    return this.request(`/proposals/${encodeURIComponent(id)}/start`, {
      method: 'POST',
      body: JSON.stringify({ mode }),
    });
  }

  async dismissProposal(id: string): Promise<ProposalResponse> {
    return this.request(`/proposals/${encodeURIComponent(id)}/dismiss`, {
      method: 'POST',
    });
  }

  async getExecutionSummary(id: string): Promise<ExecutionSummaryResponse> {
    return this.request(`/executions/${encodeURIComponent(id)}/summary`);
  }
}
