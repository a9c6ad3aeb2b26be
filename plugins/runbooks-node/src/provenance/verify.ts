import { Bundle, bundleFromJSON } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import {
  ProvenanceEntryReport,
  ProvenanceReportResponse,
} from '@runbooks/plugin-runbooks-common';
import { createPublicKey } from 'node:crypto';
import {
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
} from './statement';

/**
 * A public key statements may be signed with, by its hint (the SHA-256 of its DER SubjectPublicKeyInfo).
 * @public
 */
export interface TrustedKey {
  hint: string;
  /** PEM of the SubjectPublicKeyInfo. */
  publicKeyPem: string;
}

/**
 * The hint of a public key: lowercase hex SHA-256 of its DER SubjectPublicKeyInfo.
 * @public
 */
export function trustedKeyFromPem(pem: string): TrustedKey {
  let key;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new Error(`not a PEM public key: ${(e as Error).message}`);
  }
  if (
    key.asymmetricKeyType !== 'ec' ||
    key.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw new Error('provenance keys are ECDSA P-256 keys');
  }
  const der = key.export({ type: 'spki', format: 'der' });
  return {
    hint: sha256Hex(der),
    publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The statement inside a bundle, and the digest the next statement chains to. */
export interface OpenedBundle {
  statement?: RunbookStatement;
  /** SHA-256 of the DSSE payload: the statement's canonical JSON. */
  digest?: string;
  hint?: string;
  signature: 'valid' | 'invalid' | 'untrusted-key';
  problem?: string;
}

/**
 * The media type of the bundles this project writes and accepts.
 * @public
 */
export const BUNDLE_MEDIA_TYPE =
  'application/vnd.dev.sigstore.bundle.v0.3+json';

const EMPTY_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
} as unknown as TrustedRoot;

/**
 * Verifies Sigstore bundles (v0.3, DSSE) offline against public keys: `@sigstore/verify`'s
 * Verifier with trust material that holds only those keys, no transparency log or timestamp
 * required (the statements' order and completeness come from the hash chain instead).
 * @public
 */
export class BundleVerifier {
  private readonly verifier: Verifier;
  private readonly hints: Set<string>;

  constructor(readonly keys: TrustedKey[]) {
    this.hints = new Set(keys.map(k => k.hint));
    const material = toTrustMaterial(
      EMPTY_ROOT,
      Object.fromEntries(
        keys.map(k => [
          k.hint,
          {
            rawBytes: createPublicKey(k.publicKeyPem).export({
              type: 'spki',
              format: 'der',
            }),
            keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
            validFor: { start: new Date(0) },
          },
        ]),
      ),
    );
    this.verifier = new Verifier(material, {
      tlogThreshold: 0,
      ctlogThreshold: 0,
      timestampThreshold: 0,
    });
  }

  /** Checks one bundle's signature and decodes its statement (decoded even when the signature fails). */
  open(json: unknown): OpenedBundle {
    let bundle: Bundle;
    try {
      bundle = bundleFromJSON(json);
    } catch (e) {
      return {
        signature: 'invalid',
        problem: `not a valid Sigstore bundle: ${(e as Error).message}`,
      };
    }
    const envelope =
      bundle.content.$case === 'dsseEnvelope'
        ? bundle.content.dsseEnvelope
        : undefined;
    const material = bundle.verificationMaterial.content;
    const hint =
      material.$case === 'publicKey' ? material.publicKey.hint : undefined;
    if (!envelope) {
      return { signature: 'invalid', hint, problem: 'not a DSSE bundle' };
    }
    const mediaType = (json as { mediaType?: string }).mediaType;
    const keyids = envelope.signatures.map(s => s.keyid);
    const opened: OpenedBundle = {
      signature: 'invalid',
      hint,
      digest: sha256Hex(envelope.payload),
    };
    try {
      opened.statement = JSON.parse(envelope.payload.toString('utf8'));
    } catch {
      opened.problem = 'its payload is not JSON';
    }
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      opened.problem = `payload type ${envelope.payloadType} is not ${IN_TOTO_PAYLOAD_TYPE}`;
      return opened;
    }
    if (mediaType !== BUNDLE_MEDIA_TYPE) {
      opened.problem = `bundle media type ${mediaType} is not ${BUNDLE_MEDIA_TYPE}`;
      return opened;
    }
    if (keyids.length !== 1 || (keyids[0] && keyids[0] !== hint)) {
      opened.problem = `the envelope's signature names key ${keyids.join(
        ', ',
      )}, the bundle ${hint}`;
      return opened;
    }
    if (!hint || !this.hints.has(hint)) {
      opened.signature = 'untrusted-key';
      opened.problem = `signed with a key that is not trusted (hint ${
        hint ?? 'none'
      })`;
      return opened;
    }
    try {
      this.verifier.verify(toSignedEntity(bundle));
      opened.signature = 'valid';
    } catch (e) {
      opened.problem = `signature invalid: ${(e as Error).message}`;
    }
    return opened;
  }
}

/**
 * The verification of one entry of an execution's chain.
 * @public
 */
export type ChainEntryReport = ProvenanceEntryReport;

/**
 * The verification of one execution's chain.
 * @public
 */
export type ExecutionVerification = ProvenanceReportResponse;

function kindOf(predicateType?: string): ChainEntryReport['kind'] {
  if (predicateType === STEP_PREDICATE_TYPE) return 'step';
  if (predicateType === CHECKPOINT_PREDICATE_TYPE) return 'checkpoint';
  return 'unknown';
}

/**
 * Verifies one execution's chain of bundles, in stored order: each signature, that each statement
 * belongs to the execution, carries the next sequence number and the digest of the one before, and
 * that a checkpoint closes it with the right count and head. `finished`: the execution ended, so a
 * missing checkpoint means a truncated tail.
 * @public
 */
export function verifyExecutionChain(
  executionId: string,
  bundles: unknown[],
  verifier: BundleVerifier,
  options: { finished: boolean },
): ExecutionVerification {
  const entries: ChainEntryReport[] = [];
  let previous: string | null = null;
  let checkpoint: ExecutionVerification['checkpoint'] = 'missing';
  let closed = false;
  const hints = new Set<string>();
  bundles.forEach((json, i) => {
    const position = i + 1;
    const opened = verifier.open(json);
    const statement = opened.statement;
    const predicate = statement?.predicate as
      | (StepPredicate & CheckpointPredicate)
      | undefined;
    const kind = kindOf(statement?.predicateType);
    const entry: ChainEntryReport = {
      position,
      kind,
      sequence: predicate?.sequence,
      stepIndex: predicate?.step?.index,
      stepId: predicate?.step?.id,
      attempt: predicate?.step?.attempt,
      status: predicate?.status,
      dryRun: predicate?.step?.dryRun,
      signature: opened.signature,
      chain: 'intact',
      keyHint: opened.hint,
      statementDigest: opened.digest,
      subjectDigest: statement?.subject?.[0]?.digest?.sha256,
      problems: [],
    };
    if (opened.hint) hints.add(opened.hint);
    const chainProblem = (problem: string) => {
      entry.chain = 'broken';
      entry.problems.push(problem);
    };
    if (opened.problem) entry.problems.push(opened.problem);
    if (closed) {
      chainProblem(
        'a statement after the checkpoint that closed the execution',
      );
    }
    if (!statement || !predicate) {
      chainProblem('no statement to check the chain with');
    } else {
      if (statement._type !== IN_TOTO_STATEMENT_TYPE) {
        chainProblem(`not an in-toto Statement v1 (${statement._type})`);
      }
      if (kind === 'unknown') {
        chainProblem(`unknown predicate type ${statement.predicateType}`);
      }
      if (predicate.execution?.id !== executionId) {
        chainProblem(
          `it belongs to execution ${predicate.execution?.id}, not ${executionId}`,
        );
      }
      if (predicate.sequence !== position) {
        chainProblem(
          `it claims position ${predicate.sequence} in the chain but is at position ${position}: a statement is missing or out of order`,
        );
      }
      if (predicate.previousStatementDigest !== previous) {
        chainProblem(
          previous === null
            ? 'it names a previous statement, but none precedes it'
            : `it does not follow the statement before it (expected previous digest ${previous}, found ${predicate.previousStatementDigest})`,
        );
      }
      const expectedSubject =
        kind === 'checkpoint'
          ? checkpointSubjectName(executionId)
          : stepSubjectName(
              executionId,
              predicate.step?.index,
              predicate.step?.id,
              predicate.step?.attempt,
            );
      if (statement.subject?.[0]?.name !== expectedSubject) {
        chainProblem(`its subject is not ${expectedSubject}`);
      }
      if (kind === 'checkpoint') {
        closed = true;
        if (predicate.count !== i || predicate.headDigest !== previous) {
          checkpoint = 'mismatch';
          chainProblem(
            predicate.count !== i
              ? `the checkpoint counts ${predicate.count} statement(s), but ${i} precede it: statements are missing or were added`
              : `the checkpoint seals head ${predicate.headDigest}, but the statement before it has digest ${previous}`,
          );
        } else if (entry.problems.length === 0) {
          checkpoint = 'matches';
        } else {
          checkpoint = 'mismatch';
        }
      }
    }
    previous = opened.digest ?? null;
    entries.push(entry);
  });
  const broken = entries.find(e => e.problems.length > 0);
  let firstBroken: ExecutionVerification['firstBroken'] = broken
    ? {
        position: broken.position,
        stepIndex: broken.stepIndex,
        stepId: broken.stepId,
        problem: broken.problems.join('; '),
      }
    : undefined;
  if (!firstBroken && !closed && options.finished && entries.length > 0) {
    firstBroken = {
      position: entries.length + 1,
      problem: `the execution ended but its chain of ${entries.length} statement(s) has no checkpoint: its tail was cut off`,
    };
  }
  let status: ExecutionVerification['status'];
  if (entries.length === 0) status = 'unsigned';
  else if (firstBroken) status = 'broken';
  else status = closed ? 'verified' : 'open';
  return {
    executionId,
    status,
    statements: entries.length,
    checkpoint,
    entries,
    firstBroken,
    keyHints: [...hints],
  };
}

/**
 * The execution a bundle's statement names, without checking anything.
 * @public
 */
export function executionIdOfBundle(json: unknown): string | undefined {
  try {
    const payload = (json as { dsseEnvelope?: { payload?: string } })
      .dsseEnvelope?.payload;
    if (typeof payload !== 'string') return undefined;
    const statement = JSON.parse(Buffer.from(payload, 'base64').toString());
    const id = statement?.predicate?.execution?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function isCheckpointBundle(json: unknown): boolean {
  try {
    const payload = (json as { dsseEnvelope: { payload: string } }).dsseEnvelope
      .payload;
    return (
      JSON.parse(Buffer.from(payload, 'base64').toString()).predicateType ===
      CHECKPOINT_PREDICATE_TYPE
    );
  } catch {
    return false;
  }
}

/**
 * The verification of an exported JSONL file of bundles.
 * @public
 */
export interface ExportVerification {
  executions: ExecutionVerification[];
  /** Problems of the file itself: unreadable lines, executions whose lines are not together. */
  problems: Array<{ line: number; problem: string }>;
  verified: boolean;
}

/**
 * Verifies an exported JSONL file (one bundle per line, each execution's statements together and
 * in order, every execution ended): every execution's chain must verify and close.
 * @public
 */
export function verifyExportedBundles(
  text: string,
  verifier: BundleVerifier,
): ExportVerification {
  const problems: ExportVerification['problems'] = [];
  // by execution, in the order they first appear; a line that names no execution stays with
  // the line before it while that chain is open, so a broken statement is reported in place
  const groups = new Map<string, unknown[]>();
  let current: string | undefined;
  let closed = true;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      json = line;
    }
    const named = executionIdOfBundle(json);
    const id = named ?? (closed ? undefined : current);
    if (named) closed = isCheckpointBundle(json);
    if (!id) {
      problems.push({
        line: i + 1,
        problem:
          'an unreadable statement that names no execution (the chain it belonged to breaks where it is missing)',
      });
      return;
    }
    if (id !== current && groups.has(id)) {
      problems.push({
        line: i + 1,
        problem: `a statement of execution ${id} away from the rest of its chain (moved or swapped)`,
      });
    }
    current = id;
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id)!.push(json);
  });
  const executions = [...groups].map(([id, bundles]) =>
    verifyExecutionChain(id, bundles, verifier, { finished: true }),
  );
  return {
    executions,
    problems,
    verified:
      problems.length === 0 &&
      executions.length > 0 &&
      executions.every(e => e.status === 'verified'),
  };
}
