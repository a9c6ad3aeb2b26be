import { CompoundEntityRef } from '@backstage/catalog-model';
import {
  createApiRef,
  DiscoveryApi,
  FetchApi,
} from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  AgentAskRequest,
  EntityRunbooksResponse,
  ExecutionDetailsResponse,
  ExecutionListResponse,
  ExecutionResponse,
  ExecutionSummaryResponse,
  IncidentResponse,
  ProposalListResponse,
  ProposalResponse,
  ProposalStatus,
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
 * The runbooks backend, as the frontend uses it.
 * @public
 */
export interface RunbooksApi {
  /** The runbooks that apply to an entity, with parameters resolved against it. */
  getEntityRunbooks(entity: CompoundEntityRef): Promise<EntityRunbooksResponse>;
  /** Starts an execution (400 names a bad parameter; 409 when a kill switch holds). */
  createExecution(request: CreateExecutionRequest): Promise<ExecutionResponse>;
  /** Recent executions, newest first. */
  listExecutions(filter: {
    entityRef?: string;
    limit?: number;
  }): Promise<ExecutionListResponse>;
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

  private async request<T>(path: string, init?: RequestInit): Promise<T> {
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
    return response.json();
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

  async listExecutions(filter: {
    entityRef?: string;
    limit?: number;
  }): Promise<ExecutionListResponse> {
    const query = new URLSearchParams();
    if (filter.entityRef) query.set('entityRef', filter.entityRef);
    if (filter.limit) query.set('limit', String(filter.limit));
    return this.request(`/executions?${query}`);
  }

  async getExecution(id: string): Promise<ExecutionDetailsResponse> {
    return this.request(`/executions/${encodeURIComponent(id)}`);
  }

  async getBundles(id: string): Promise<string> {
    const base = await this.options.discoveryApi.getBaseUrl('runbooks');
    const response = await this.options.fetchApi.fetch(
      `${base}/executions/${encodeURIComponent(id)}/bundles`,
    );
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return response.text();
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
