import { executionStats, weekStarts } from '../service/stats';
import {
  BackstageCredentials,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  parseEntityRef,
  RELATION_DEPENDENCY_OF,
  RELATION_DEPENDS_ON,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { ConflictError, InputError, NotAllowedError } from '@backstage/errors';
import {
  ExecutionSummaryResponse,
  IncidentResponse,
  ParameterDefinitions,
  ProposalResponse,
  ProposalStatus,
} from '@runbooks/plugin-runbooks-common';
import {
  Incident,
  PlannerContext,
  PlannerResult,
  Proposal,
  RunbookPlanner,
} from '@runbooks/plugin-runbooks-node';
import {
  Execution,
  ExecutionEvents,
  ExecutionManager,
  ExecutionMode,
  ExecutionStore,
  SECRET_MASK,
  TERMINAL_STATUSES,
} from '../engine';
import { RunbooksAuthorizer } from '../permissions';
import { RunbookCatalog } from '../runbook';
import { redactExecution } from '../service/redact';
import { AgentStore, NewProposal } from './AgentStore';
import { cleanUntrusted } from './fence';
import { ExecutionSummariser, TemplateSummariser } from './summarise';

/** How the agent treats what it proposes. */
export interface AgentSettings {
  /**
   * `suggest`: proposals wait for a person to start them. `dry-run`: a valid proposal starts as a
   * dry-run under the caller's name (it changes nothing); running it for real is a person's call.
   */
  mode: 'suggest' | 'dry-run';
  /** Proposals kept per incident; any beyond are refused (no fan-out). */
  maxProposals: number;
  /** Recent executions given to the planner as context. */
  historyLimit: number;
  /** Time a planner may take. */
  planTimeoutMs: number;
}

/** Who submitted an incident or decides on a proposal. */
export interface AgentCaller {
  credentials: BackstageCredentials;
  /** `user:default/alice`, or the service's subject for alerts sent by a service. */
  ref: string;
  isUser: boolean;
}

const MAX_STORED_INCIDENT = 20_000;
/** The weeks of history the planner's track record of each runbook covers. */
const FIGURES_WEEKS = 12;
const MAX_STORED_PARAMETERS = 4_000;

function normalizeRef(ref: string, defaultKind: string): string | undefined {
  try {
    return stringifyEntityRef(
      parseEntityRef(ref, { defaultKind, defaultNamespace: 'default' }),
    ).toLocaleLowerCase('en-US');
  } catch {
    return undefined;
  }
}

/** What a refused proposal keeps of the parameters it tried: bounded, secrets masked, for review. */
function storedParameters(
  given: unknown,
  definitions?: ParameterDefinitions,
): Record<string, unknown> {
  const parameters =
    given && typeof given === 'object' && !Array.isArray(given)
      ? Object.fromEntries(
          Object.entries(given).map(([k, v]) => [
            k,
            definitions?.[k]?.secret ? SECRET_MASK : v,
          ]),
        )
      : given;
  const json = JSON.stringify(parameters ?? {}) ?? '{}';
  if (json.length <= MAX_STORED_PARAMETERS && typeof parameters === 'object') {
    return parameters as Record<string, unknown>;
  }
  return { truncated: json.slice(0, MAX_STORED_PARAMETERS) };
}

/** A title for an incident: its alert name or first line, cleaned. */
export function incidentTitle(incident: Incident): string {
  const first =
    incident.alertName ??
    incident.annotations?.summary ??
    incident.text?.split('\n').find(l => l.trim()) ??
    'Incident';
  return cleanUntrusted(first).trim().slice(0, 200) || 'Incident';
}

/**
 * The agent: builds the trusted context for an entity, asks the planner, validates every proposal
 * exactly as a person's request is validated (the runbook applies and was offered, the entity is
 * the incident's, typed and entity-bound parameters, the caller's permission, kill switches), and
 * records proposals. It never executes: a proposal becomes a suggestion or, in `dry-run` mode, a
 * dry-run; running for real is always a person's request through the usual gates.
 */
export class AgentService {
  private readonly summaries = new Map<
    string,
    Promise<ExecutionSummaryResponse>
  >();

  constructor(
    private readonly options: {
      runbookCatalog: RunbookCatalog;
      store: ExecutionStore;
      agentStore: AgentStore;
      manager: ExecutionManager;
      events: ExecutionEvents;
      authorizer: RunbooksAuthorizer;
      planner: RunbookPlanner;
      summariser: ExecutionSummariser;
      logger: LoggerService;
      settings: AgentSettings;
    },
  ) {}

  get planner(): RunbookPlanner {
    return this.options.planner;
  }

  /** The trusted context for an entity, read with the caller's credentials. */
  async context(
    entityRef: string,
    credentials: BackstageCredentials,
  ): Promise<PlannerContext> {
    const { runbookCatalog, store, authorizer, settings } = this.options;
    const { entity, items } = await runbookCatalog.listForEntity(
      entityRef,
      credentials,
    );
    const ref = stringifyEntityRef(entity);
    const related = (type: string) =>
      (entity.relations ?? [])
        .filter(r => r.type === type)
        .map(r => r.targetRef)
        .sort();
    const visible = await authorizer.visibleExecutions(credentials);
    const history =
      visible.kind === 'none'
        ? []
        : (
            await store.listExecutions(
              { entityRef: ref },
              {
                limit: settings.historyLimit,
                visible: visible.kind === 'some' ? visible.criteria : undefined,
              },
            )
          ).items.map(e => ({
            runbookRef: e.runbookRef,
            status: e.status,
            mode: e.mode,
            requester: e.requester,
            createdAt: e.createdAt.toISOString(),
            // no status message: it can quote tool output, which is not trusted
            finishedAt: e.finishedAt?.toISOString(),
          }));
    // the learning loop: how each runbook went here over the last weeks, from the same store
    const starts = weekStarts(new Date(), FIGURES_WEEKS);
    const figures =
      visible.kind === 'none'
        ? []
        : executionStats(
            ref,
            starts,
            await store.tallyExecutions(ref, starts, {
              visible: visible.kind === 'some' ? visible.criteria : undefined,
            }),
          )
            .runbooks.filter(r => r.total > 0)
            .map(r => ({
              runbookRef: r.runbookRef,
              total: r.total,
              successRate: r.successRate,
              medianDurationMs: r.medianDurationMs,
              needsAttention: r.needsAttention,
              rejected: r.rejected,
              mostFailedStep: r.mostFailedStep,
            }));
    return {
      entity,
      entityRef: ref,
      neighbourhood: {
        dependsOn: related(RELATION_DEPENDS_ON),
        dependents: related(RELATION_DEPENDENCY_OF),
      },
      // a runbook the configured tools cannot run is not offered
      runbooks: items
        .filter(i => i.toolProblems.length === 0)
        .map(i => ({
          ref: i.ref,
          name: i.name,
          title: i.title,
          description: i.description,
          parameters: i.parameterDefinitions,
          parametersSchema: i.parametersSchema,
          defaults: i.defaults,
          triggers: i.triggers ?? [],
          mutatingSteps: i.mutatingSteps,
          approval: i.approval,
        })),
      history,
      figures,
    };
  }

  /**
   * Plans for an incident on an entity (or records that no entity matched) and returns what was
   * proposed, each proposal validated and, in `dry-run` mode, started as a dry-run.
   */
  async handleIncident(
    incident: Incident,
    target: { entityRef?: string; unresolved?: string; dedupeKey?: string },
    caller: AgentCaller,
    planner: RunbookPlanner = this.options.planner,
  ): Promise<IncidentResponse> {
    const { agentStore, logger, settings } = this.options;
    if (target.dedupeKey) {
      // Alertmanager sends a firing alert again and again: plan for it once
      const seen = await agentStore.findIncident(target.dedupeKey);
      if (seen) return seen;
    }
    const stored = JSON.stringify(incident);
    const record = {
      source: incident.source,
      title: incidentTitle(incident),
      incident:
        stored.length > MAX_STORED_INCIDENT
          ? { truncated: stored.slice(0, MAX_STORED_INCIDENT) }
          : incident,
      planner: planner.id,
      createdBy: caller.ref,
      dedupeKey: target.dedupeKey,
    };
    if (!target.entityRef) {
      return agentStore.recordIncident({
        ...record,
        noAction:
          target.unresolved ?? 'No catalog entity matches this incident.',
        proposals: [],
      });
    }
    const context = await this.context(target.entityRef, caller.credentials);
    let result: PlannerResult;
    try {
      const signal = AbortSignal.timeout(settings.planTimeoutMs);
      // a planner that ignores the signal still cannot hold the request longer than the timeout
      result = await Promise.race([
        planner.plan(incident, context, { signal }),
        new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), {
            once: true,
          }),
        ),
      ]);
      if (!result || !Array.isArray(result.proposals)) {
        throw new Error('the planner returned no proposal list');
      }
    } catch (e) {
      logger.warn(
        `Planner ${planner.id} failed for ${context.entityRef}: ${
          (e as Error).message
        }`,
      );
      result = {
        proposals: [],
        noAction: `The planner failed (${
          (e as Error).name
        }); a person should look at the incident.`,
      };
    }
    const proposals: NewProposal[] = [];
    for (const [i, proposal] of result.proposals.entries()) {
      const refusal =
        i >= settings.maxProposals
          ? `Only ${
              settings.maxProposals
            } proposal(s) per incident are taken; this one was proposal ${
              i + 1
            }`
          : await this.refusal(proposal, context, caller);
      proposals.push(
        typeof refusal === 'string'
          ? {
              runbookRef: String(proposal?.runbookRef).slice(0, 255),
              entityRef: String(proposal?.entityRef).slice(0, 255),
              parameters: storedParameters(
                proposal?.parameters,
                context.runbooks.find(
                  r =>
                    r.ref.toLocaleLowerCase('en-US') ===
                    normalizeRef(String(proposal?.runbookRef), 'runbook'),
                )?.parameters,
              ),
              rationale: cleanUntrusted(
                String(proposal?.rationale ?? ''),
              ).slice(0, 1000),
              status: 'refused',
              refusal,
            }
          : {
              runbookRef: refusal.runbookRef,
              entityRef: context.entityRef,
              parameters: refusal.parameters,
              rationale: cleanUntrusted(String(proposal.rationale ?? '')).slice(
                0,
                1000,
              ),
              status: 'pending',
            },
      );
    }
    const response = await agentStore.recordIncident({
      ...record,
      entityRef: context.entityRef,
      noAction:
        result.noAction ??
        (proposals.length > 0 && proposals.every(p => p.status === 'refused')
          ? 'Every proposal was refused; a person should look at the incident.'
          : undefined),
      usage: result.usage,
      proposals,
    });
    if (settings.mode === 'dry-run') {
      for (const [i, proposal] of response.proposals.entries()) {
        if (proposal.status !== 'pending') continue;
        if (
          !(await this.options.authorizer.canExecute(
            caller.credentials,
            proposal.entityRef,
          ))
        ) {
          continue; // stays a suggestion for someone who may run it
        }
        try {
          const { execution, proposal: started } = await this.start(
            proposal,
            'dry-run',
            caller,
            response,
          );
          response.proposals[i] = started;
          logger.info(
            `Agent proposal ${proposal.id} started as dry-run ${execution.id}`,
          );
        } catch (e) {
          logger.warn(
            `Agent proposal ${proposal.id} could not start as a dry-run: ${
              (e as Error).message
            }`,
          );
        }
      }
    }
    return response;
  }

  /**
   * A proposal made directly (by an external AI client through the actions registry): recorded
   * as an incident of `source` with the one proposal, validated and treated like a planner's.
   */
  async submitProposal(
    proposal: Proposal,
    caller: AgentCaller,
    source = 'actions',
  ): Promise<IncidentResponse> {
    const direct: RunbookPlanner = {
      id: source,
      plan: async () => ({ proposals: [proposal] }),
    };
    return this.handleIncident(
      { source, text: String(proposal.rationale ?? '').slice(0, 2000) },
      { entityRef: proposal.entityRef },
      caller,
      direct,
    );
  }

  /**
   * Why a proposal is refused, or its validated parameters. The same checks as a person's request,
   * plus: the runbook was among those offered and the entity is the incident's.
   */
  private async refusal(
    proposal: Proposal,
    context: PlannerContext,
    caller: AgentCaller,
  ): Promise<
    string | { runbookRef: string; parameters: Record<string, unknown> }
  > {
    const { runbookCatalog, authorizer, store } = this.options;
    if (
      !proposal ||
      typeof proposal.runbookRef !== 'string' ||
      typeof proposal.entityRef !== 'string'
    ) {
      return 'A proposal needs a runbook and an entity';
    }
    if (
      !proposal.parameters ||
      typeof proposal.parameters !== 'object' ||
      Array.isArray(proposal.parameters)
    ) {
      return 'Parameters must be an object';
    }
    const entityRef = normalizeRef(proposal.entityRef, 'component');
    if (entityRef !== context.entityRef.toLocaleLowerCase('en-US')) {
      return `Proposes entity ${proposal.entityRef}, but the incident is about ${context.entityRef}`;
    }
    const runbookRef = normalizeRef(proposal.runbookRef, 'runbook');
    const offered = context.runbooks.find(
      r => r.ref.toLocaleLowerCase('en-US') === runbookRef,
    );
    if (!offered && proposal.runbookRef.startsWith('unknown-tool:')) {
      return `The model called '${proposal.runbookRef
        .slice('unknown-tool:'.length)
        .slice(0, 100)}', which is not one of the runbooks offered for ${
        context.entityRef
      }`;
    }
    if (!offered) {
      return `Runbook ${proposal.runbookRef} is not one that applies to ${context.entityRef}`;
    }
    const secrets = Object.keys(proposal.parameters).filter(
      name => offered.parameters[name]?.secret,
    );
    if (secrets.length > 0) {
      return `A proposal cannot set secret parameters (${secrets.join(', ')})`;
    }
    let resolved;
    try {
      resolved = await runbookCatalog.resolveRequest(
        {
          runbookRef: offered.ref,
          entityRef: context.entityRef,
          parameters: proposal.parameters,
        },
        caller.credentials,
      );
    } catch (e) {
      return (e as Error).message;
    }
    // a person asking is the requester; an alerting service's proposal is checked when someone starts it
    if (
      caller.isUser &&
      !(await authorizer.canExecute(caller.credentials, context.entityRef))
    ) {
      return `${caller.ref} may not run runbooks on ${context.entityRef}`;
    }
    const switches = await store.findEngagedKillSwitches({
      entityRef: context.entityRef,
      runbookRef: offered.ref,
    });
    if (switches.length > 0) {
      return `A kill switch is engaged (${switches
        .map(s => `${s.scope}${s.target ? ` ${s.target}` : ''}: ${s.reason}`)
        .join('; ')})`;
    }
    return { runbookRef: offered.ref, parameters: resolved.parameters };
  }

  /** Starts a proposal as an execution requested by the caller, through the usual request path. */
  private async start(
    proposal: ProposalResponse,
    mode: ExecutionMode,
    caller: AgentCaller,
    incident?: IncidentResponse,
  ): Promise<{ execution: Execution; proposal: ProposalResponse }> {
    const { runbookCatalog, authorizer, manager, agentStore, events } =
      this.options;
    await authorizer.assertCanExecute(caller.credentials, proposal.entityRef);
    const resolved = await runbookCatalog.resolveRequest(
      {
        runbookRef: proposal.runbookRef,
        entityRef: proposal.entityRef,
        parameters: proposal.parameters,
      },
      caller.credentials,
    );
    // claim the proposal first: two people starting it at once get one execution
    await agentStore.decideProposal(proposal.id, {
      status: 'started',
      by: caller.ref,
    });
    let execution: Execution;
    try {
      execution = await manager.create({
        ...resolved,
        requester: caller.ref,
        mode,
      });
    } catch (e) {
      await agentStore.reopenProposal(proposal.id);
      throw e;
    }
    const started = await agentStore.linkExecution(proposal.id, execution.id);
    const source =
      incident ?? (await agentStore.getIncident(proposal.incidentId));
    await events.append(execution.id, 'agent-proposal', {
      proposalId: proposal.id,
      incidentId: proposal.incidentId,
      planner: proposal.planner,
      rationale: proposal.rationale,
      usage: source.usage,
    });
    return { execution, proposal: started };
  }

  /** A person starts a pending proposal (dry-run by default); validated again, as them, now. */
  async startProposal(
    id: string,
    mode: ExecutionMode,
    caller: AgentCaller,
  ): Promise<{ execution: Execution; proposal: ProposalResponse }> {
    if (!caller.isUser) {
      throw new NotAllowedError('Only a person can start a proposal');
    }
    const proposal = await this.options.agentStore.getProposal(id);
    if (proposal.status !== 'pending') {
      throw new ConflictError(
        `Proposal ${id} is ${proposal.status}; only a pending proposal can be started`,
      );
    }
    // reading the entity with the caller's credentials: a proposal for an entity they cannot see is not theirs
    await this.options.runbookCatalog.getEntity(
      proposal.entityRef,
      caller.credentials,
    );
    const result = await this.start(proposal, mode, caller);
    return { ...result, execution: redactExecution(result.execution) };
  }

  async dismissProposal(
    id: string,
    caller: AgentCaller,
  ): Promise<ProposalResponse> {
    if (!caller.isUser) {
      throw new NotAllowedError('Only a person can dismiss a proposal');
    }
    const proposal = await this.options.agentStore.getProposal(id);
    await this.options.authorizer.assertCanExecute(
      caller.credentials,
      proposal.entityRef,
    );
    return this.options.agentStore.decideProposal(id, {
      status: 'dismissed',
      by: caller.ref,
    });
  }

  /**
   * Proposals for an entity the caller can see in the catalog, newest first: all of them for
   * someone who may run runbooks on it or read every execution, otherwise only their own.
   */
  async listProposals(
    entityRef: string,
    caller: AgentCaller,
    status?: ProposalStatus[],
  ): Promise<ProposalResponse[]> {
    const { runbookCatalog, authorizer, agentStore } = this.options;
    const ref = normalizeRef(entityRef, 'component');
    if (!ref) throw new InputError(`Invalid entityRef '${entityRef}'`);
    const entity = await runbookCatalog.getEntity(ref, caller.credentials);
    const target = stringifyEntityRef(entity);
    const items = await agentStore.listProposals({ entityRef: target, status });
    if (
      (await authorizer.canExecute(caller.credentials, target)) ||
      (await authorizer.visibleExecutions(caller.credentials)).kind === 'all'
    ) {
      return items;
    }
    return items.filter(p => p.createdBy === caller.ref);
  }

  /**
   * The summary of an execution. Once it has ended the summary is written once (one model call at
   * most) and kept; before that, the template's account of the state so far.
   */
  async summary(execution: Execution): Promise<ExecutionSummaryResponse> {
    const { store, agentStore, summariser } = this.options;
    const ended = TERMINAL_STATUSES.includes(execution.status);
    if (ended) {
      const stored = await agentStore.getSummary(execution.id);
      if (stored) return stored;
      const pending = this.summaries.get(execution.id);
      if (pending) return pending;
    }
    const write = (async () => {
      const records = {
        execution,
        steps: await store.getSteps(execution.id),
        approvals: await store.listApprovals(execution.id),
        events: await store.listEvents(execution.id),
      };
      const summary = ended
        ? await summariser.summarise(records)
        : await new TemplateSummariser().summarise(records);
      const { fallback, ...body } = { executionId: execution.id, ...summary };
      return ended && !fallback
        ? agentStore.saveSummary(body)
        : { ...body, createdAt: new Date().toISOString() };
    })();
    if (!ended) return write;
    this.summaries.set(execution.id, write);
    try {
      return await write;
    } finally {
      this.summaries.delete(execution.id);
    }
  }
}
