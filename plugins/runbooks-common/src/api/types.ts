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
