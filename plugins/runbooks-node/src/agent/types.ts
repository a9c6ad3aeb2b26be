import { Entity } from '@backstage/catalog-model';
import {
  ParameterDefinitions,
  RunbookApprovalSummary,
} from '@runbooks/plugin-runbooks-common';

/**
 * An incident as the planners see it. Everything here except `source` and `entityRef` came from
 * outside (an alert, a person's free text, logs): it is untrusted data, never instructions.
 * @public
 */
export interface Incident {
  /** Where the incident came from: `alertmanager`, `generic`, `pagerduty`, `ask`. */
  source: string;
  /** The alert's name (Prometheus `alertname`), when there is one. */
  alertName?: string;
  /** The alert's labels. */
  labels?: Record<string, string>;
  /** The alert's annotations (summary, description, runbook_url …). */
  annotations?: Record<string, string>;
  /** Free text: what a person asked, or an alert's summary. */
  text?: string;
  /** Log excerpts or tool output pasted with the incident. */
  logs?: string[];
}

/**
 * A runbook a planner may choose, as trusted data from the catalog: only runbooks that apply to the
 * target entity are ever offered.
 * @public
 */
export interface PlannerRunbook {
  /** `runbook:default/restart-deployment`. */
  ref: string;
  name: string;
  title?: string;
  description?: string;
  parameters: ParameterDefinitions;
  /** The parameters as JSON Schema (what the model's tool takes as `input_schema`). */
  parametersSchema: Record<string, unknown>;
  /** Parameter values resolved from the entity (annotations) and the runbook's defaults. */
  defaults: Record<string, unknown>;
  triggers: Array<{
    alert?: string;
    labels?: Record<string, string>;
    keywords?: string[];
  }>;
  mutatingSteps: number;
  approval: RunbookApprovalSummary;
}

/**
 * How a runbook went on this entity before: the learning loop, as trusted figures.
 * @public
 */
export interface PlannerHistoryEntry {
  runbookRef: string;
  status: string;
  mode: string;
  requester: string;
  createdAt: string;
  finishedAt?: string;
}

/**
 * How a runbook has done on this entity over recent weeks (the learning loop), as trusted figures
 * from the execution store.
 * @public
 */
export interface PlannerRunbookFigures {
  runbookRef: string;
  /** Executions in the window. */
  total: number;
  /** succeeded / (succeeded + failed); absent when none ended. */
  successRate?: number;
  medianDurationMs?: number;
  /** Executions that needed a person's attention. */
  needsAttention: number;
  /** Executions an approver rejected. */
  rejected: number;
  /** The step that failed most often. */
  mostFailedStep?: { stepId: string; failures: number };
}

/**
 * What a planner knows besides the incident: all of it from the catalog and the execution store.
 * @public
 */
export interface PlannerContext {
  entity: Entity;
  entityRef: string;
  /** Entities this one depends on and entities that depend on it, by ref. */
  neighbourhood: { dependsOn: string[]; dependents: string[] };
  /** The runbooks that apply to the entity; a planner may propose nothing else. */
  runbooks: PlannerRunbook[];
  /** Recent executions on this entity, newest first. */
  history: PlannerHistoryEntry[];
  /** How each runbook has done on this entity over the last weeks (runbooks never run: absent). */
  figures?: PlannerRunbookFigures[];
}

/**
 * What a planner may produce: a runbook, an entity and parameters, with its reason. Nothing else.
 * It is validated like a person's request before anything runs.
 * @public
 */
export interface Proposal {
  runbookRef: string;
  entityRef: string;
  parameters: Record<string, unknown>;
  rationale: string;
}

/**
 * Model usage of one planning or summarising call.
 * @public
 */
export interface ModelUsage {
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * A planner's answer: proposals, or none with the reason (ask a human).
 * @public
 */
export interface PlannerResult {
  proposals: Proposal[];
  /** Why nothing was proposed (or what a person should look at); set when `proposals` is empty. */
  noAction?: string;
  /** The model's usage, for planners that call one. */
  usage?: ModelUsage;
}

/**
 * Chooses among the runbooks that apply to an entity for an incident.
 * @public
 */
export interface RunbookPlanner {
  /** The planner's id, used by `runbooks.agent.planner` to pick it. */
  readonly id: string;
  plan(
    incident: Incident,
    context: PlannerContext,
    options?: { signal?: AbortSignal },
  ): Promise<PlannerResult>;
}
