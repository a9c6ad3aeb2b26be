import { JsonSchemaObject, ParameterDefinitions } from '../parameters';

/**
 * Why a runbook applies to an entity.
 * @public
 */
export type RunbookApplicability = 'relation' | 'selector' | 'annotation';

/**
 * Whether a runbook can need a human approval before it changes anything.
 * `blast-radius`: its mutating steps wait for approval when their blast radius is high.
 * @public
 */
export type RunbookApprovalSummary = 'always' | 'blast-radius' | 'none';

/**
 * A step of a runbook as the API describes it.
 * @public
 */
export interface EntityRunbookStep {
  id: string;
  name?: string;
  tool: string;
  mutates: boolean;
  idempotent: boolean;
  approval: 'always' | 'auto';
}

/**
 * A runbook that applies to an entity, with its parameters resolved against that entity.
 * @public
 */
export interface EntityRunbook {
  /** The runbook's entity ref, such as `runbook:default/restart-deployment`. */
  ref: string;
  name: string;
  title?: string;
  description?: string;
  owner: string;
  appliesBy: RunbookApplicability[];
  /** JSON Schema of the parameters, with defaults resolved from the entity. */
  parametersSchema: JsonSchemaObject;
  /** The parameter definitions, for building the same zod schema as the backend. */
  parameterDefinitions: ParameterDefinitions;
  /** Defaults resolved from the entity. */
  defaults: Record<string, unknown>;
  steps: EntityRunbookStep[];
  mutatingSteps: number;
  approval: RunbookApprovalSummary;
  /**
   * Problems of its steps with the configured tools (unknown tool, input the tool's schema
   * rejects, a mutating step on a tool without dry-run). A runbook with problems is not run.
   */
  toolProblems: RunbookToolProblemSummary[];
}

/**
 * A problem of one runbook step with the tool it names.
 * @public
 */
export interface RunbookToolProblemSummary {
  stepId: string;
  tool: string;
  message: string;
}

/**
 * Response of `GET /entities/:kind/:namespace/:name/runbooks`.
 * @public
 */
export interface EntityRunbooksResponse {
  entityRef: string;
  items: EntityRunbook[];
}

/**
 * The status of an execution.
 * @public
 */
export type ExecutionStatusValue =
  | 'queued'
  | 'running'
  | 'waiting-approval'
  | 'needs-attention'
  | 'succeeded'
  | 'failed'
  | 'cancelled';

/**
 * An execution as the API returns it (times as ISO strings).
 * @public
 */
export interface ExecutionResponse {
  id: string;
  runbookRef: string;
  runbookDigest: string;
  entityRef: string;
  parameters: Record<string, unknown>;
  requester: string;
  mode: 'dry-run' | 'execute';
  status: ExecutionStatusValue;
  statusMessage?: string;
  currentStep: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
}

/**
 * One step of an execution as the API returns it.
 * @public
 */
export interface StepRunResponse {
  stepIndex: number;
  stepId: string;
  status: string;
  phase?: string;
  attempt: number;
  input?: unknown;
  plan?: { changes?: unknown[]; objectCount?: number; diff?: string };
  planDigest?: string;
  before?: unknown;
  after?: unknown;
  diff?: unknown;
  output?: unknown;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
}

/**
 * Response of `GET /executions/:id`.
 * @public
 */
export interface ExecutionDetailsResponse {
  execution: ExecutionResponse;
  steps: StepRunResponse[];
  events: Array<{
    seq: number;
    type: string;
    payload: Record<string, unknown>;
    createdAt: string;
  }>;
}

/**
 * Response of `GET /executions`.
 * @public
 */
export interface ExecutionListResponse {
  items: ExecutionResponse[];
  nextCursor?: string;
}
