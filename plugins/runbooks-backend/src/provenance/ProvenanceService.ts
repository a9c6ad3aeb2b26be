import {
  ProvenanceBadgeResponse,
  ProvenanceKeysResponse,
  ProvenanceReportResponse,
} from '@runbooks/plugin-runbooks-common';
import {
  BundleVerifier,
  TrustedKey,
  verifyExecutionChain,
} from '@runbooks/plugin-runbooks-node';
import {
  ATTESTED_STEP_STATUSES,
  Execution,
  ExecutionStore,
  TERMINAL_STATUSES,
} from '../engine';
import { stepRecordDigest } from './statements';

function parseBundle(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function checkpointPredicate(bundle: unknown): Record<string, any> | undefined {
  try {
    const payload = (bundle as any).dsseEnvelope.payload;
    return JSON.parse(Buffer.from(payload, 'base64').toString()).predicate;
  } catch {
    return undefined;
  }
}

/**
 * Verifies executions' signed records against the trusted keys, including that the stored step
 * records and the execution are still what was signed, and lists bundles for export.
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
    const [statements, steps] = await Promise.all([
      store.listStatements(execution.id),
      store.getSteps(execution.id),
    ]);
    const bundles = statements.map(s => parseBundle(s.bundle));
    const finished = TERMINAL_STATUSES.includes(execution.status);
    const report = verifyExecutionChain(execution.id, bundles, this.verifier, {
      finished,
    });
    if (report.statements === 0) return report;

    // the stored records must still be what was signed
    const problems: Array<{
      position: number;
      stepIndex?: number;
      stepId?: string;
      problem: string;
    }> = [];
    for (const step of steps) {
      if (!ATTESTED_STEP_STATUSES.includes(step.status)) continue;
      const entry = [...report.entries]
        .reverse()
        .find(e => e.kind === 'step' && e.stepIndex === step.stepIndex);
      if (!entry) {
        problems.push({
          position: report.entries.length + 1,
          stepIndex: step.stepIndex,
          stepId: step.stepId,
          problem: `step ${step.stepIndex + 1} '${step.stepId}' ended (${
            step.status
          }) but no signed statement records it: it was deleted`,
        });
        continue;
      }
      if (entry.subjectDigest === stepRecordDigest(execution, step)) {
        entry.record = 'matches';
      } else {
        entry.record = 'differs';
        entry.problems.push(
          `the stored record of step ${step.stepIndex + 1} '${
            step.stepId
          }' is not the one this statement signed: it was changed afterwards`,
        );
        problems.push({
          position: entry.position,
          stepIndex: step.stepIndex,
          stepId: step.stepId,
          problem: entry.problems.join('; '),
        });
      }
    }
    const last = report.entries[report.entries.length - 1];
    if (finished && last?.kind === 'checkpoint') {
      const predicate = checkpointPredicate(bundles[bundles.length - 1]);
      const differs = [
        ['status', predicate?.status, execution.status],
        ['requester', predicate?.requester, execution.requester],
        ['runbook', predicate?.runbook?.ref, execution.runbookRef],
        ['entity', predicate?.entity?.ref, execution.entityRef],
        ['runbook digest', predicate?.runbook?.digest, execution.runbookDigest],
      ].filter(([, signed, stored]) => signed !== stored);
      if (differs.length > 0) {
        const problem = `the stored execution differs from its signed checkpoint: ${differs
          .map(
            ([what, signed, stored]) =>
              `${what} is ${stored}, signed ${signed}`,
          )
          .join('; ')}`;
        last.problems.push(problem);
        problems.push({ position: last.position, problem });
      }
    }
    if (problems.length > 0) {
      const first = [
        ...(report.firstBroken ? [report.firstBroken] : []),
        ...problems,
      ].sort((a, b) => a.position - b.position)[0];
      report.firstBroken = first;
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
