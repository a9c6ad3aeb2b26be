import { JsonSchemaObject, ParameterDefinitions } from '../parameters';

/**
 * Why a runbook applies to an entity.
 * @public
 */
export type RunbookApplicability = 'relation' | 'selector' | 'annotation';

/**
 * Whether a runbook can need a human approval before it changes anything.
 * `blast-radius`: its mutating steps wait for approval when the blast-radius policy asks for it.
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
  /**
   * A preview of the blast radius of its strictest mutating step on this entity, before any plan:
   * the catalog graph's reach with a plan of one object and no hosts (the least the change can be;
   * the real plan can only raise it). Absent for read-only runbooks or when the graph cannot be read.
   */
  radiusPreview?: BlastRadius;
  /** Its last health check on this entity, when one ran (see {@link RunbookHealthResponse}). */
  health?: RunbookHealthResponse;
  /** The alerts and words the runbook answers (the offline planner matches them). */
  triggers?: Array<{
    alert?: string;
    labels?: Record<string, string>;
    keywords?: string[];
  }>;
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
  /** Whether the caller may request executions on this entity (`runbooks.runbook.execute`). */
  canExecute: boolean;
}

/**
 * Why a requester cannot approve their own execution, as every surface says it.
 * @public
 */
export const FOUR_EYES_MESSAGE =
  'You requested this execution, so another person must approve it (four-eyes rule).';

/**
 * The statuses after which an execution never changes again.
 * @public
 */
export const FINAL_EXECUTION_STATUSES = [
  'succeeded',
  'failed',
  'cancelled',
] as const;

/**
 * The statuses an execution may have.
 * @public
 */
export const EXECUTION_STATUS_VALUES = [
  'queued',
  'running',
  'waiting-approval',
  'needs-attention',
  'succeeded',
  'failed',
  'cancelled',
] as const;

/**
 * The status of an execution.
 * @public
 */
export type ExecutionStatusValue = (typeof EXECUTION_STATUS_VALUES)[number];

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
  /** How far the planned change reaches and what the policy requires for it. */
  blastRadius?: BlastRadius;
  approvalRequestedAt?: string;
  startedAt?: string;
  finishedAt?: string;
}

/**
 * A person's decision on a step's plan.
 * @public
 */
export interface ApprovalResponse {
  stepIndex: number;
  /** The step attempt (approval request) it answers. */
  attempt: number;
  planDigest: string;
  decidedBy: string;
  decision: 'approved' | 'rejected';
  comment?: string;
  /** The affected owner the approver answered for, when the gate asked for one. */
  ownerOf?: string;
  createdAt: string;
  expiresAt?: string;
}

/**
 * The approval gate an execution waits at.
 * @public
 */
export interface ApprovalGateResponse {
  stepIndex: number;
  stepId: string;
  planDigest: string;
  requestedAt?: string;
  /** After this, the request is planned afresh and earlier approvals no longer count. */
  expiresAt: string;
  /** Distinct approvers needed. */
  required: number;
  /** The approvals that count so far. */
  approvals: ApprovalResponse[];
  /** When not empty, one approver must be a member of one of these owners of affected services. */
  ownerApprovalFrom: string[];
  /** What is still missing, in plain words. */
  missing: string[];
  /** Who is on call for the target's owner now, by escalation level. */
  onCall?: Array<{ level: number; users: string[]; escalateAfterMs: number }>;
  /** Whether the caller may approve it (holds the permission and did not request it). */
  canApprove: boolean;
  /**
   * When the caller cannot approve, why, in plain words: they requested it (four-eyes rule), their
   * approval already counts, the last approval must come from an owner they are not, or the policy.
   */
  cannotApprove?: string;
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
  /** Every decision on the execution's steps, oldest first. */
  approvals: ApprovalResponse[];
  /** Present while the execution waits for approval. */
  gate?: ApprovalGateResponse;
  /** How the execution's signed record verifies, for a badge. */
  provenance: ProvenanceBadgeResponse;
  /** What the caller may do with the execution now (buttons are shown only for these). */
  actions: ExecutionActionsResponse;
}

/**
 * What the caller may do with an execution in its current state, by permission and status.
 * `cancel`: not ended and `runbooks.execution.cancel`; `resume` / `skip`: needs attention and
 * `runbooks.execution.approve`; `abort`: needs attention and `runbooks.execution.cancel`.
 * @public
 */
export interface ExecutionActionsResponse {
  cancel: boolean;
  resume: boolean;
  skip: boolean;
  abort: boolean;
}

/**
 * One execution waiting at an approval gate, as the approvals inbox shows it.
 * @public
 */
export interface ApprovalInboxItem {
  execution: ExecutionResponse;
  /** The step that waits, with its plan, diff and blast radius. */
  step: StepRunResponse;
  gate: ApprovalGateResponse;
  /** When the caller cannot approve, why (the same as `gate.cannotApprove`). */
  cannotApprove?: string;
  /** The runbook's last health check on the entity, so an approver sees drift before approving. */
  health?: RunbookHealthResponse;
}

/**
 * Response of `GET /approvals`: executions waiting for approval that the caller may approve, and
 * the caller's own waiting requests (which another person must approve), oldest request first.
 * @public
 */
export interface ApprovalInboxResponse {
  items: ApprovalInboxItem[];
}

/**
 * How one runbook has gone on an entity.
 * @public
 */
export interface RunbookStatsResponse {
  runbookRef: string;
  /** Executions in the window, of any mode and status. */
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** succeeded / (succeeded + failed) of ended executions in the window; absent when none ended. */
  successRate?: number;
  /** Median time from creation to finish of its ended executions in the window. */
  medianDurationMs?: number;
  /** Executions in the window that needed a person's attention at least once. */
  needsAttention: number;
  /** Executions in the window an approver rejected. */
  rejected: number;
  /** The step that failed most often in the window, and how often (ties: the first by id). */
  mostFailedStep?: { stepId: string; failures: number };
  /** The newest execution of the runbook on the entity (also outside the window). */
  lastRun?: ExecutionResponse;
}

/**
 * The executions of one week (Monday 00:00 UTC) on an entity, by outcome.
 * @public
 */
export interface ExecutionWeekResponse {
  weekStart: string;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Not ended yet (queued, running, waiting for approval, needing attention). */
  open: number;
  /** Median time from creation to finish of the week's ended executions. */
  medianDurationMs?: number;
}

/**
 * Response of `GET /executions/stats?entityRef=…&weeks=…`: the figures of the executions the caller
 * may read on an entity, per runbook and per week.
 * @public
 */
export interface ExecutionStatsResponse {
  entityRef: string;
  /** Start of the window (the first week's start). */
  since: string;
  weeks: ExecutionWeekResponse[];
  runbooks: RunbookStatsResponse[];
  /** Median time to finish of every ended execution in the window. */
  medianDurationMs?: number;
  /** The entity's figures over every runbook in the window (the learning loop's, per entity). */
  totals: {
    total: number;
    succeeded: number;
    failed: number;
    cancelled: number;
    successRate?: number;
    needsAttention: number;
    rejected: number;
  };
}

/**
 * A kill switch as the API returns it. While engaged (not released) it stops every execution in
 * its scope at the next step boundary and refuses new ones.
 * @public
 */
export interface KillSwitchResponse {
  id: string;
  scope: 'global' | 'entity' | 'runbook' | 'execution';
  target: string;
  reason: string;
  engagedBy: string;
  engagedAt: string;
  releasedBy?: string;
  releasedAt?: string;
}

/**
 * Response of `GET /kill-switches`.
 * @public
 */
export interface KillSwitchListResponse {
  items: KillSwitchResponse[];
  /** Whether the caller may engage and release kill switches (`runbooks.killswitch.manage`). */
  canManage: boolean;
}

/**
 * Response of `GET /executions`.
 * @public
 */
export interface ExecutionListResponse {
  items: ExecutionResponse[];
  nextCursor?: string;
}

/**
 * How far a change reaches, from `low` (nothing else affected) to `critical`.
 * @public
 */
export type BlastRadiusLevel = 'low' | 'medium' | 'high' | 'critical';

/**
 * What the blast-radius policy does with a step: run it, wait for one approval, wait for two
 * approvals of which one comes from an owner of an affected dependent, or refuse to run it.
 * @public
 */
export type BlastRadiusAction = 'run' | 'approve' | 'two-approvals' | 'refuse';

/**
 * An entity a change may affect (or its target), as approvers see it.
 * @public
 */
export interface AffectedEntity {
  entityRef: string;
  kind: string;
  title?: string;
  /** The owner's entity ref, such as `group:default/team-checkout`. */
  owner?: string;
  lifecycle?: string;
  /** From the `runbooks.backstage.io/tier` annotation or the `tier` label. */
  tier?: string;
  /** Hops from the target (1 = a direct dependent or part). */
  depth: number;
  /** The relation that reached it: `dependencyOf` (it depends on the entity before) or `hasPart`. */
  via: 'dependencyOf' | 'hasPart';
  /** Whether it counts toward the level (entities whose lifecycle the policy ignores do not). */
  counted: boolean;
}

/**
 * The blast radius of one mutating step and what the policy requires for it. Stored on the step.
 * @public
 */
export interface BlastRadius {
  level: BlastRadiusLevel;
  action: BlastRadiusAction;
  /** Distinct approvers needed before the step applies (0 = none). */
  approvalsRequired: number;
  /**
   * Owner refs of affected dependents: when not empty, at least one approver must own (be a member
   * of) one of them.
   */
  ownerApprovalFrom: string[];
  target: {
    entityRef: string;
    owner?: string;
    lifecycle?: string;
    tier?: string;
  };
  /** Entities affected besides the target, nearest first. */
  affected: AffectedEntity[];
  /** The measures the level was computed from. */
  measures: { dependents: number; objects: number; hosts: number };
  /** Why the level and action are what they are, in plain words. */
  reasons: string[];
  /** The graph walk stopped at its limit: more entities may be affected. */
  truncated?: boolean;
}

/**
 * The verification of one signed statement of an execution's chain.
 * @public
 */
export interface ProvenanceEntryReport {
  /** Position in the chain as stored (or in the exported file's group), from 1. */
  position: number;
  kind: 'step' | 'checkpoint' | 'unknown';
  /** The position the statement claims. */
  sequence?: number;
  stepIndex?: number;
  stepId?: string;
  attempt?: number;
  status?: string;
  dryRun?: boolean;
  signature: 'valid' | 'invalid' | 'untrusted-key';
  chain: 'intact' | 'broken';
  /** Whether the stored step record still has the digest the statement signed (backend only). */
  record?: 'matches' | 'differs';
  keyHint?: string;
  statementDigest?: string;
  subjectDigest?: string;
  problems: string[];
}

/**
 * How an execution's signed record verifies. verified: every statement signed by a trusted key, the
 * chain unbroken and closed by a matching checkpoint; open: intact so far, the execution has not
 * ended; broken: something does not verify (see firstBroken); unsigned: no statement at all.
 * @public
 */
export type ProvenanceStatus = 'verified' | 'open' | 'broken' | 'unsigned';

/**
 * Response of `GET /executions/:id/provenance`: the verification of the execution's chain.
 * @public
 */
export interface ProvenanceReportResponse {
  executionId: string;
  status: ProvenanceStatus;
  statements: number;
  checkpoint: 'matches' | 'mismatch' | 'missing';
  entries: ProvenanceEntryReport[];
  /** The first link that does not verify. */
  firstBroken?: {
    position: number;
    stepIndex?: number;
    stepId?: string;
    problem: string;
  };
  /** Hints of the keys that signed the statements. */
  keyHints: string[];
}

/**
 * The provenance badge of an execution, in `GET /executions/:id`.
 * @public
 */
export interface ProvenanceBadgeResponse {
  status: ProvenanceStatus;
  statements: number;
  firstBroken?: ProvenanceReportResponse['firstBroken'];
}

/**
 * Response of `GET /provenance/keys`: the public keys statements may be signed with.
 * @public
 */
export interface ProvenanceKeysResponse {
  keys: Array<{ hint: string; publicKeyPem: string; current: boolean }>;
  /** Set when statements are signed keylessly (Fulcio certificates, Rekor). */
  keyless?: boolean;
}

/**
 * The columns of the audit export's CSV summary (`GET /audit/summary`), in order.
 * @public
 */
export const AUDIT_SUMMARY_COLUMNS = [
  'execution',
  'runbook',
  'entity',
  'mode',
  'requester',
  'approvers',
  'start',
  'end',
  'outcome',
  'statements',
] as const;

/**
 * The state of an agent's proposal: `pending` waits for a person to start or dismiss it,
 * `started` became an execution, `refused` failed the same validation a person's request gets.
 * @public
 */
export type ProposalStatus = 'pending' | 'started' | 'dismissed' | 'refused';

/**
 * Model usage recorded for an incident's planning call or an execution's summary.
 * @public
 */
export interface ModelUsageResponse {
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * One runbook the agent proposed for an entity.
 * @public
 */
export interface ProposalResponse {
  id: string;
  incidentId: string;
  entityRef: string;
  runbookRef: string;
  runbookTitle?: string;
  /** The proposed parameters; secret values are masked. */
  parameters: Record<string, unknown>;
  /** The planner's reason, as text to show (never markup). */
  rationale: string;
  planner: string;
  status: ProposalStatus;
  /** Why validation refused the proposal (status `refused`). */
  refusal?: string;
  /** The execution it became (status `started`). */
  executionId?: string;
  /** Who submitted the incident (a user, or the service that sent an alert). */
  createdBy: string;
  createdAt: string;
  decidedBy?: string;
  decidedAt?: string;
}

/**
 * An incident the agent planned for, with what it proposed.
 * @public
 */
export interface IncidentResponse {
  id: string;
  source: string;
  /** The entity the incident was resolved to; absent when none matched. */
  entityRef?: string;
  title: string;
  planner: string;
  /** Why nothing was proposed, or why no entity matched. */
  noAction?: string;
  usage?: ModelUsageResponse;
  createdBy: string;
  createdAt: string;
  proposals: ProposalResponse[];
}

/**
 * Response of `GET /proposals`.
 * @public
 */
export interface ProposalListResponse {
  items: ProposalResponse[];
}

/**
 * Body of `POST /entities/:kind/:namespace/:name/ask`: free text or a pasted alert.
 * @public
 */
export interface AgentAskRequest {
  text: string;
  logs?: string[];
}

/**
 * Response of `GET /executions/:id/summary`: a readable account of an execution, with no secrets.
 * @public
 */
export interface ExecutionSummaryResponse {
  executionId: string;
  /** Markdown. */
  text: string;
  by: 'template' | 'model';
  usage?: ModelUsageResponse;
  createdAt: string;
}

/**
 * What a health check found wrong: the runbook no longer matches the system.
 * `missing-object`: a read or a dry-run did not find what the runbook acts on (a renamed deployment);
 * `unexpected-count`: a dry-run would change nothing (an empty host group);
 * `failed-precondition`: a precondition does not hold, or reads a value the system does not have;
 * `tool-error`: a tool refused the rendered input; `render`: the input could not be rendered.
 * @public
 */
export interface HealthFinding {
  kind:
    | 'missing-object'
    | 'unexpected-count'
    | 'failed-precondition'
    | 'tool-error'
    | 'render';
  stepId?: string;
  message: string;
}

/**
 * The last health check of a runbook on an entity: its read-only steps and its dry-runs run with
 * the default parameters, and its preconditions evaluated, changing nothing. `healthy`: all that
 * could be checked matched; `drifted`: findings; `unknown`: a tool was not reachable.
 * @public
 */
export interface RunbookHealthResponse {
  runbookRef: string;
  entityRef: string;
  status: 'healthy' | 'drifted' | 'unknown';
  findings: HealthFinding[];
  /** What could not be checked and why (a parameter without a default, a tool that is away). */
  skipped: Array<{ stepId?: string; reason: string }>;
  /** The steps that ran (reads and dry-runs) and the preconditions evaluated. */
  checked: { steps: string[]; preconditions: number };
  verifiedAt: string;
}
