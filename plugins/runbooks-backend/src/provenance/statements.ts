import { RunbookEntityV1alpha1 } from '@runbooks/plugin-runbooks-common';
import {
  AttestedApproval,
  canonicalDigest,
  canonicalJson,
  CHECKPOINT_PREDICATE_TYPE,
  checkpointSubjectName,
  CheckpointPredicate,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  RunbookStatement,
  sha256Hex,
  STEP_PREDICATE_TYPE,
  StepPredicate,
  stepSubjectName,
} from '@runbooks/plugin-runbooks-node';
import {
  Approval,
  Execution,
  maskedParameters,
  maskSecrets,
  secretParameterNames,
  secretValues,
  StepRun,
} from '../engine';
import { ProvenanceSigner } from './signing';

/** A signed statement, ready to be stored. */
export interface SignedStatement {
  kind: 'step' | 'checkpoint';
  sequence: number;
  stepIndex?: number;
  attempt?: number;
  /** SHA-256 of the DSSE payload (the statement's canonical JSON). */
  digest: string;
  keyHint: string;
  /** The Sigstore bundle, serialised. */
  bundle: string;
}

const iso = (d?: Date) => (d ? d.toISOString() : null);
const digestOrNull = (value: unknown, secrets: string[]) =>
  value === undefined || value === null
    ? null
    : canonicalDigest(maskSecrets(value, secrets));

/**
 * The digest a step statement names as its subject: the step record as stored, with secret values
 * masked (so the digest cannot be used to guess them), dates as ISO strings.
 */
export function stepRecordDigest(execution: Execution, step: StepRun): string {
  const record = JSON.parse(JSON.stringify(step));
  return canonicalDigest(maskSecrets(record, secretValues(execution)));
}

/**
 * Builds the in-toto statements of an execution (see docs/provenance.md) and signs them. Only
 * digests of inputs, plans, snapshots and outputs go into a statement, never the values.
 */
export class StatementRecorder {
  constructor(
    private readonly signer: ProvenanceSigner,
    /** Recorded as the backend instance that wrote the statements. */
    private readonly instance: string,
  ) {}

  get keyHint() {
    return this.signer.keyHint;
  }

  async step(input: {
    execution: Execution;
    step: StepRun;
    approvals: Approval[];
    sequence: number;
    previous: string | null;
  }): Promise<SignedStatement> {
    const { execution, step } = input;
    const secrets = secretValues(execution);
    const runbook = execution.runbookContent as RunbookEntityV1alpha1;
    const definition = runbook?.spec?.steps?.[step.stepIndex];
    const [server, ...tool] = String(definition?.tool ?? '/').split('/');
    const mutates = definition?.mutates === true;
    const predicate: StepPredicate = {
      execution: { id: execution.id, mode: execution.mode },
      sequence: input.sequence,
      previousStatementDigest: input.previous,
      runbook: { ref: execution.runbookRef, digest: execution.runbookDigest },
      entity: { ref: execution.entityRef },
      parametersDigest: canonicalDigest(maskedParameters(execution)),
      secretParameters: secretParameterNames(execution),
      requester: execution.requester,
      step: {
        index: step.stepIndex,
        id: step.stepId,
        attempt: step.attempt,
        mutates,
        dryRun: mutates && execution.mode === 'dry-run',
      },
      tool: { server, name: tool.join('/') },
      inputDigest: digestOrNull(step.input, secrets),
      planDigest: step.planDigest ?? null,
      beforeDigest: digestOrNull(step.before, secrets),
      afterDigest: digestOrNull(step.after, secrets),
      outputDigest: digestOrNull(step.output, secrets),
      approvals: input.approvals
        .filter(a => a.attempt === step.attempt)
        .map(
          (a): AttestedApproval => ({
            approver: a.decidedBy,
            decision: a.decision,
            planDigest: a.planDigest,
            time: a.createdAt.toISOString(),
            ...(a.ownerOf ? { ownerOf: a.ownerOf } : {}),
          }),
        ),
      status: step.status,
      startedAt: iso(step.startedAt),
      finishedAt: iso(step.finishedAt),
      backendInstance: this.instance,
    };
    return this.sign(
      {
        _type: IN_TOTO_STATEMENT_TYPE,
        subject: [
          {
            name: stepSubjectName(
              execution.id,
              step.stepIndex,
              step.stepId,
              step.attempt,
            ),
            digest: { sha256: stepRecordDigest(execution, step) },
          },
        ],
        predicateType: STEP_PREDICATE_TYPE,
        predicate,
      },
      {
        kind: 'step',
        sequence: input.sequence,
        stepIndex: step.stepIndex,
        attempt: step.attempt,
      },
    );
  }

  async checkpoint(input: {
    execution: Execution;
    sequence: number;
    previous: string | null;
  }): Promise<SignedStatement> {
    const { execution } = input;
    const predicate: CheckpointPredicate = {
      execution: { id: execution.id, mode: execution.mode },
      sequence: input.sequence,
      previousStatementDigest: input.previous,
      count: input.sequence - 1,
      headDigest: input.previous,
      runbook: { ref: execution.runbookRef, digest: execution.runbookDigest },
      entity: { ref: execution.entityRef },
      requester: execution.requester,
      status: execution.status,
      statusMessage:
        maskSecrets(execution.statusMessage, secretValues(execution)) ?? null,
      finishedAt: iso(execution.finishedAt),
      backendInstance: this.instance,
    };
    return this.sign(
      {
        _type: IN_TOTO_STATEMENT_TYPE,
        subject: [
          {
            name: checkpointSubjectName(execution.id),
            // the chain's head: the checkpoint seals every statement before it
            digest: { sha256: input.previous ?? sha256Hex('') },
          },
        ],
        predicateType: CHECKPOINT_PREDICATE_TYPE,
        predicate,
      },
      { kind: 'checkpoint', sequence: input.sequence },
    );
  }

  private async sign(
    statement: RunbookStatement,
    meta: Pick<SignedStatement, 'kind' | 'sequence' | 'stepIndex' | 'attempt'>,
  ): Promise<SignedStatement> {
    const payload = Buffer.from(canonicalJson(statement), 'utf8');
    const bundle = await this.signer.sign(payload, IN_TOTO_PAYLOAD_TYPE);
    return {
      ...meta,
      digest: sha256Hex(payload),
      keyHint: this.signer.keyHint,
      bundle: JSON.stringify(bundle),
    };
  }
}
