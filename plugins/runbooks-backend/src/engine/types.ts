import {
  BlastRadius,
  ExecutionStatusValue,
  FINAL_EXECUTION_STATUSES,
} from '@runbooks/plugin-runbooks-common';

/** How an execution runs: every step's dry-run only, or for real. */
export type ExecutionMode = 'dry-run' | 'execute';

/** The status of an execution (the API's type). */
export type ExecutionStatus = ExecutionStatusValue;

/** Statuses an execution never leaves. */
export const TERMINAL_STATUSES: ReadonlyArray<ExecutionStatus> =
  FINAL_EXECUTION_STATUSES;

/** The status of one step run. */
export type StepStatus =
  | 'pending'
  | 'running'
  | 'waiting-approval'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'cancelled'
  | 'needs-attention';

/** The lifecycle phase a step run last reached. */
export type StepPhase =
  | 'render'
  | 'snapshot'
  | 'dry-run'
  | 'approval'
  | 'apply'
  | 'verify'
  | 'done';

/** An execution as the rest of the backend sees it. */
export interface Execution {
  id: string;
  runbookRef: string;
  runbookDigest: string;
  runbookContent: unknown;
  entityRef: string;
  entitySnapshot: unknown;
  /** Owner ref of the target entity when the execution was requested. */
  entityOwner?: string;
  /** Owner ref of the runbook when the execution was requested. */
  runbookOwner?: string;
  parameters: Record<string, unknown>;
  requester: string;
  mode: ExecutionMode;
  status: ExecutionStatus;
  statusMessage?: string;
  currentStep: number;
  cancelRequestedBy?: string;
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
  entitySnapshot: unknown;
  entityOwner?: string;
  runbookOwner?: string;
  parameters: Record<string, unknown>;
  requester: string;
  mode: ExecutionMode;
  /** The ids of the runbook's steps, in order. */
  stepIds: string[];
}

/** One step of one execution. */
export interface StepRun {
  executionId: string;
  stepIndex: number;
  stepId: string;
  status: StepStatus;
  phase?: StepPhase;
  attempt: number;
  idempotencyKey: string;
  input?: unknown;
  plan?: unknown;
  planDigest?: string;
  before?: unknown;
  after?: unknown;
  diff?: unknown;
  output?: unknown;
  error?: string;
  /** How far the planned change reaches and what the policy requires for it. */
  blastRadius?: BlastRadius;
  /** When the step last started waiting for approval. */
  approvalRequestedAt?: Date;
  startedAt?: Date;
  finishedAt?: Date;
}

/** The fields of a step run the engine changes. */
export type StepRunPatch = Partial<
  Omit<StepRun, 'executionId' | 'stepIndex' | 'stepId' | 'idempotencyKey'>
>;

/** One entry of an execution's append-only event log. */
export interface ExecutionEvent {
  executionId: string;
  seq: number;
  type: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** The scope of a kill switch. */
export type KillSwitchScope = 'global' | 'entity' | 'runbook' | 'execution';

/** A kill switch record. */
export interface KillSwitch {
  id: string;
  scope: KillSwitchScope;
  target: string;
  reason: string;
  engagedBy: string;
  engagedAt: Date;
  releasedBy?: string;
  releasedAt?: Date;
}

/** A person's decision on a step waiting for approval. */
export interface Approval {
  id: string;
  executionId: string;
  stepIndex: number;
  /** The step attempt whose approval request this decision answers. */
  attempt: number;
  planDigest: string;
  decidedBy: string;
  /** The affected owner the approver answers for, when the gate asks for one. */
  ownerOf?: string;
  decision: 'approved' | 'rejected';
  comment?: string;
  createdAt: Date;
  expiresAt?: Date;
}

/** Filters for listing executions. */
export interface ExecutionFilter {
  entityRef?: string;
  runbookRef?: string;
  status?: ExecutionStatus[];
  requester?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

/**
 * One condition of a permission decision over executions, as the store filters by it: the
 * property's value is one of `values`.
 */
export interface ExecutionCondition {
  property: 'requester' | 'entityOwner' | 'runbookOwner';
  values: string[];
}
