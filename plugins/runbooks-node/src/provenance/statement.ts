import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';

/**
 * The in-toto Statement v1 type.
 * @public
 */
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/**
 * The DSSE payload type of an in-toto statement.
 * @public
 */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/**
 * Predicate type of the statement signed for every step of an execution that ran (docs/provenance.md).
 * @public
 */
export const STEP_PREDICATE_TYPE =
  'https://runbooks.backstage.io/provenance/step/v1';

/**
 * Predicate type of the statement that closes an execution's chain.
 * @public
 */
export const CHECKPOINT_PREDICATE_TYPE =
  'https://runbooks.backstage.io/provenance/checkpoint/v1';

/**
 * The lowercase hex SHA-256 of a value's canonical JSON (RFC 8785).
 * @public
 */
export function canonicalDigest(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/**
 * A value as RFC 8785 canonical JSON; `undefined` becomes null.
 * @public
 */
export function canonicalJson(value: unknown): string {
  return canonicalize(value === undefined ? null : value) ?? 'null';
}

/**
 * The lowercase hex SHA-256 of bytes or a UTF-8 string.
 * @public
 */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * One approval decision as a step statement records it.
 * @public
 */
export interface AttestedApproval {
  approver: string;
  decision: 'approved' | 'rejected';
  planDigest: string;
  time: string;
  /** The affected owner the approver answered for, when the gate asked for one. */
  ownerOf?: string;
}

/**
 * The predicate of a step statement: what ran, on whose request, under whose approval, with
 * digests of everything recorded (values never appear, so secrets cannot leak through it).
 * @public
 */
export interface StepPredicate {
  execution: {
    id: string;
    mode: 'dry-run' | 'execute';
  };
  /** Position of this statement in the execution's chain, from 1. */
  sequence: number;
  /** Digest of the execution's previous statement (the hash chain); null for the first. */
  previousStatementDigest: string | null;
  runbook: { ref: string; digest: string };
  entity: { ref: string };
  /** Digest of the parameters with the values of secret parameters replaced by a marker. */
  parametersDigest: string;
  /** Names of the parameters whose values are secret (never their values). */
  secretParameters: string[];
  requester: string;
  step: {
    index: number;
    id: string;
    attempt: number;
    mutates: boolean;
    /** The step only planned its change (a dry-run execution of a mutating step). */
    dryRun: boolean;
  };
  tool: { server: string; name: string };
  inputDigest: string | null;
  planDigest: string | null;
  beforeDigest: string | null;
  afterDigest: string | null;
  outputDigest: string | null;
  approvals: AttestedApproval[];
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The backend instance (worker) that wrote the record. */
  backendInstance: string;
}

/**
 * The predicate of the statement that closes an execution: how many step statements precede it
 * and the digest of the last, so a truncated tail is detectable.
 * @public
 */
export interface CheckpointPredicate {
  execution: { id: string; mode: 'dry-run' | 'execute' };
  sequence: number;
  previousStatementDigest: string | null;
  /** Statements of the execution before this one. */
  count: number;
  /** Digest of the last of them (equal to previousStatementDigest); null when there is none. */
  headDigest: string | null;
  runbook: { ref: string; digest: string };
  entity: { ref: string };
  requester: string;
  status: string;
  statusMessage: string | null;
  finishedAt: string | null;
  backendInstance: string;
}

/**
 * An in-toto Statement v1 as this project signs it.
 * @public
 */
export interface RunbookStatement<P = StepPredicate | CheckpointPredicate> {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: Array<{ name: string; digest: { sha256: string } }>;
  predicateType: string;
  predicate: P;
}

/**
 * Name of a step statement's subject.
 * @public
 */
export function stepSubjectName(
  executionId: string,
  stepIndex: number,
  stepId: string,
  attempt: number,
): string {
  return `runbooks:execution/${executionId}/step/${stepIndex}/${stepId}/attempt/${attempt}`;
}

/**
 * Name of a checkpoint statement's subject.
 * @public
 */
export function checkpointSubjectName(executionId: string): string {
  return `runbooks:execution/${executionId}`;
}
