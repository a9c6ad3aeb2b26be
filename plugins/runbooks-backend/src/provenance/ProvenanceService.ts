import {
  ProvenanceBadgeResponse,
  ProvenanceKeysResponse,
  ProvenanceReportResponse,
  RunbookEntityV1alpha1,
} from '@runbooks/plugin-runbooks-common';
import {
  AttestedApproval,
  BundleVerifier,
  canonicalDigest,
  canonicalJson,
  TrustedKey,
  verifyExecutionChain,
} from '@runbooks/plugin-runbooks-node';
import {
  ATTESTED_STEP_STATUSES,
  Execution,
  ExecutionStore,
  maskedParameters,
  TERMINAL_STATUSES,
} from '../engine';
import { runbookDigest } from '../runbook';
import { stepRecordDigest } from './statements';

/** Step statuses a step never leaves once signed (needs-attention may be resumed). */
const FINAL_STEP_STATUSES = ['succeeded', 'skipped', 'failed', 'cancelled'];

function parseBundle(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A statement's predicate, decoded without checking anything (the chain check does that). */
function predicateOf(bundle: unknown): Record<string, any> | undefined {
  try {
    const payload = (bundle as any).dsseEnvelope.payload;
    return JSON.parse(Buffer.from(payload, 'base64').toString()).predicate;
  } catch {
    return undefined;
  }
}

const iso = (d?: Date) => (d ? d.toISOString() : null);

/**
 * Verifies executions' signed records against the trusted keys, including that the stored
 * records (steps, approvals, the execution) are still what was signed, and lists bundles for
 * export.
 */
export class ProvenanceService {
  private readonly verifier: BundleVerifier;

  constructor(
    private readonly options: {
      store: ExecutionStore;
      trustedKeys: TrustedKey[];
      /** Hint of the key that signs now. */
      currentKeyHint: string;
      keyless?: boolean;
    },
  ) {
    this.verifier = new BundleVerifier(options.trustedKeys);
  }

  keys(): ProvenanceKeysResponse {
    return {
      keys: this.options.trustedKeys.map(k => ({
        hint: k.hint,
        publicKeyPem: k.publicKeyPem,
        current: k.hint === this.options.currentKeyHint,
      })),
      ...(this.options.keyless ? { keyless: true } : {}),
    };
  }

  /** The execution's bundles in stored order, as stored. */
  async bundles(executionId: string): Promise<string[]> {
    return (await this.options.store.listStatements(executionId)).map(
      s => s.bundle,
    );
  }

  /** The full verification of an execution's chain and of its stored records. */
  async verify(execution: Execution): Promise<ProvenanceReportResponse> {
    const { store } = this.options;
    const [statements, steps, approvals, enabledAt] = await Promise.all([
      store.listStatements(execution.id),
      store.getSteps(execution.id),
      store.listApprovals(execution.id),
      store.provenanceEnabledAt(),
    ]);
    const bundles = statements.map(s => parseBundle(s.bundle));
    const finished = TERMINAL_STATUSES.includes(execution.status);
    const report = verifyExecutionChain(execution.id, bundles, this.verifier, {
      finished,
    });
    const signedSince = (time?: Date) =>
      !!enabledAt && !!time && time.getTime() >= enabledAt.getTime();

    if (report.statements === 0) {
      const ended = steps.some(s => ATTESTED_STEP_STATUSES.includes(s.status));
      if ((ended || finished) && signedSince(execution.createdAt)) {
        report.status = 'broken';
        report.firstBroken = {
          position: 1,
          problem:
            'the execution ran after signing was enabled, but no signed statement of it exists: they were deleted',
        };
      }
      return report;
    }

    const problems: Array<{
      position: number;
      stepIndex?: number;
      stepId?: string;
      problem: string;
    }> = [];
    const problem = (
      position: number,
      text: string,
      step?: { stepIndex: number; stepId: string },
    ) => {
      report.entries[position - 1]?.problems.push(text);
      problems.push({
        position,
        stepIndex: step?.stepIndex,
        stepId: step?.stepId,
        problem: text,
      });
    };
    const predicates = bundles.map(predicateOf);

    // every step record as signed, and none that ended without its statement
    for (const step of steps) {
      const entry = [...report.entries]
        .reverse()
        .find(e => e.kind === 'step' && e.stepIndex === step.stepIndex);
      const name = `step ${step.stepIndex + 1} '${step.stepId}'`;
      if (!entry) {
        if (
          ATTESTED_STEP_STATUSES.includes(step.status) &&
          (!step.finishedAt || signedSince(step.finishedAt))
        ) {
          problem(
            report.entries.length + 1,
            `${name} ended (${step.status}) but no signed statement records it: it was deleted`,
            step,
          );
        }
        continue;
      }
      if (!ATTESTED_STEP_STATUSES.includes(step.status)) {
        if (entry.status && FINAL_STEP_STATUSES.includes(entry.status)) {
          problem(
            entry.position,
            `${name} was signed as ${entry.status} but is stored as ${step.status}: it was changed afterwards`,
            step,
          );
        }
        continue;
      }
      if (entry.subjectDigest === stepRecordDigest(execution, step)) {
        entry.record = 'matches';
      } else {
        entry.record = 'differs';
        problem(
          entry.position,
          `the stored record of ${name} is not the one this statement signed: it was changed afterwards`,
          step,
        );
      }
      // who decided, as signed
      const predicate = predicates[entry.position - 1];
      const stored: AttestedApproval[] = approvals
        .filter(
          a =>
            a.stepIndex === step.stepIndex &&
            a.attempt === predicate?.step?.attempt,
        )
        .map(a => ({
          approver: a.decidedBy,
          decision: a.decision,
          planDigest: a.planDigest,
          time: a.createdAt.toISOString(),
          ...(a.ownerOf ? { ownerOf: a.ownerOf } : {}),
        }));
      const sorted = (list: AttestedApproval[]) =>
        list.map(a => canonicalJson(a)).sort();
      if (
        predicate &&
        canonicalJson(sorted(stored)) !==
          canonicalJson(sorted(predicate.approvals ?? []))
      ) {
        problem(
          entry.position,
          `the stored decisions on ${name} (${
            stored.map(a => `${a.decision} by ${a.approver}`).join(', ') ||
            'none'
          }) are not the signed ones (${
            (predicate.approvals ?? [])
              .map((a: AttestedApproval) => `${a.decision} by ${a.approver}`)
              .join(', ') || 'none'
          })`,
          step,
        );
      }
    }

    // the execution as signed: what was asked, by whom, with which runbook content
    const first = predicates[0];
    const signedExecution = [
      ['requester', first?.requester, execution.requester],
      ['mode', first?.execution?.mode, execution.mode],
      ['runbook', first?.runbook?.ref, execution.runbookRef],
      ['runbook digest', first?.runbook?.digest, execution.runbookDigest],
      ['entity', first?.entity?.ref, execution.entityRef],
      ...(report.entries[0]?.kind === 'step'
        ? [
            [
              'parameters digest',
              first?.parametersDigest,
              canonicalDigest(maskedParameters(execution)),
            ],
          ]
        : []),
    ].filter(([, signed, stored]) => signed !== stored);
    if (signedExecution.length > 0) {
      problem(
        1,
        `the stored execution is not the one signed: ${signedExecution
          .map(
            ([what, signed, stored]) =>
              `${what} is ${stored}, signed ${signed}`,
          )
          .join('; ')}`,
      );
    }
    let contentDigest: string | undefined;
    try {
      contentDigest = runbookDigest(
        execution.runbookContent as RunbookEntityV1alpha1,
      );
    } catch {
      contentDigest = undefined;
    }
    if (contentDigest !== execution.runbookDigest) {
      problem(
        1,
        `the stored runbook content does not have the signed digest ${execution.runbookDigest} (it is ${contentDigest}): it was changed afterwards`,
      );
    }

    // the checkpoint: only an ended execution has one, and it says how it ended
    const last = report.entries[report.entries.length - 1];
    if (last?.kind === 'checkpoint') {
      const predicate = predicates[predicates.length - 1];
      if (!finished) {
        problem(
          last.position,
          `the chain was closed when the execution ended (${predicate?.status}), but it is stored as ${execution.status}: it was changed afterwards`,
        );
      } else {
        const differs = [
          ['status', predicate?.status, execution.status],
          ['finished at', predicate?.finishedAt, iso(execution.finishedAt)],
        ].filter(([, signed, stored]) => signed !== stored);
        if (differs.length > 0) {
          problem(
            last.position,
            `the stored execution differs from its signed checkpoint: ${differs
              .map(
                ([what, signed, stored]) =>
                  `${what} is ${stored}, signed ${signed}`,
              )
              .join('; ')}`,
          );
        }
      }
    }

    if (problems.length > 0) {
      report.firstBroken = [
        ...(report.firstBroken ? [report.firstBroken] : []),
        ...problems,
      ].sort((a, b) => a.position - b.position)[0];
      report.status = 'broken';
    }
    return report;
  }

  /** The badge of an execution: its verification, without the entries. */
  async badge(execution: Execution): Promise<ProvenanceBadgeResponse> {
    const report = await this.verify(execution);
    return {
      status: report.status,
      statements: report.statements,
      ...(report.firstBroken ? { firstBroken: report.firstBroken } : {}),
    };
  }
}
