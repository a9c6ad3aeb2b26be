// Provenance benchmark: what signing every step costs. In one run, alternating: raw ECDSA P-256
// sign and verify (node:crypto, the physical floor), building + signing a step statement into a
// Sigstore bundle, a step's end written with and without its statement (the store's transaction,
// SQLite and PostgreSQL), and verifying a bundle plus the chain. Prints a table and writes
// test/artifacts/bench-provenance.json. Not a test: figures, no pass/fail.
import {
  BundleVerifier,
  verifyExecutionChain,
} from '@runbooks/plugin-runbooks-node';
import {
  generateKeyPairSync,
  randomBytes,
  sign as ecdsaSign,
  verify as ecdsaVerify,
} from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ExecutionStore } from '../../plugins/runbooks-backend/src/engine';
import {
  KeyPairSigner,
  StatementRecorder,
} from '../../plugins/runbooks-backend/src/provenance';
import {
  artifacts,
  databases,
  faultRunbook,
  freshDatabase,
} from '../fault/common';

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
};
const us = (ms: number) => Math.round(ms * 1000);
const stats = (values: number[]) => ({
  p50: us(quantile(values, 0.5)),
  p99: us(quantile(values, 0.99)),
});

const STEPS = 50;
const ROUNDS = 10;

async function main() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
  });
  const signer = new KeyPairSigner(privateKey);
  const recorder = new StatementRecorder(signer, 'bench');
  const verifier = new BundleVerifier([signer.publicKey]);
  const results: Record<string, unknown> = {};

  // raw ECDSA and statement signing, alternating, on payloads the size of a statement
  const rawSign: number[] = [];
  const rawVerify: number[] = [];
  const statementSign: number[] = [];
  const bundleVerify: number[] = [];
  const execution = {
    id: 'bench',
    runbookRef: 'runbook:default/bench',
    runbookDigest: 'a'.repeat(64),
    runbookContent: faultRunbook('bench', [
      { tool: 'noop/change', mutates: true },
    ]),
    entityRef: 'component:default/checkout',
    entitySnapshot: {},
    parameters: { replicas: 3 },
    requester: 'user:default/alice',
    mode: 'execute' as const,
    status: 'running' as const,
    currentStep: 0,
    createdAt: new Date(),
    updatedAt: new Date(),
  };
  const step = {
    executionId: 'bench',
    stepIndex: 0,
    stepId: 'step-1',
    status: 'succeeded' as const,
    attempt: 1,
    idempotencyKey: 'bench/0',
    input: { name: 'checkout', replicas: 3 },
    plan: { changes: [{ action: 'update' }], objectCount: 1 },
    planDigest: 'b'.repeat(64),
    output: { replicas: 3 },
    startedAt: new Date(),
    finishedAt: new Date(),
  };
  for (let i = 0; i < 2000; i++) {
    const payload = randomBytes(1200);
    let t = performance.now();
    const sig = ecdsaSign('sha256', payload, privateKey);
    rawSign.push(performance.now() - t);
    t = performance.now();
    ecdsaVerify('sha256', payload, publicKey, sig);
    rawVerify.push(performance.now() - t);
    t = performance.now();
    const signed = await recorder.step({
      execution,
      step,
      approvals: [],
      sequence: 1,
      previous: null,
    });
    statementSign.push(performance.now() - t);
    const bundle = JSON.parse(signed.bundle);
    t = performance.now();
    verifyExecutionChain('bench', [bundle], verifier, { finished: false });
    bundleVerify.push(performance.now() - t);
  }
  results.rawSignUs = stats(rawSign);
  results.rawVerifyUs = stats(rawVerify);
  results.statementSignUs = stats(statementSign);
  results.bundleAndChainVerifyUs = stats(bundleVerify);

  // a step's end written by the store, without and with its statement, alternating executions
  for (const kind of databases()) {
    const db = await freshDatabase(kind);
    try {
      const plain = await ExecutionStore.create({
        database: {
          getClient: async () => db.knex,
          migrations: { skip: true },
        },
      });
      const signed = await ExecutionStore.create({
        database: {
          getClient: async () => db.knex,
          migrations: { skip: true },
        },
        provenance: recorder,
      });
      const runbook = faultRunbook(
        'bench',
        Array.from({ length: STEPS }, () => ({
          tool: 'noop/read',
          mutates: false,
        })),
      );
      const times: Record<'plain' | 'signed', number[]> = {
        plain: [],
        signed: [],
      };
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, store] of [
          ['plain', plain],
          ['signed', signed],
        ] as const) {
          const created = await store.createExecution({
            runbookRef: 'runbook:default/bench',
            runbookDigest: 'a'.repeat(64),
            runbookContent: runbook,
            entityRef: 'component:default/checkout',
            entitySnapshot: {},
            parameters: {},
            requester: 'user:default/alice',
            mode: 'execute',
            stepIds: runbook.spec.steps.map(s => s.id),
          });
          const claimed = await store.claimExecution('bench', 60_000);
          if (claimed?.execution.id !== created.id) throw new Error('claim');
          for (let i = 0; i < STEPS; i++) {
            const t = performance.now();
            await store.updateStep(
              created.id,
              i,
              'bench',
              {
                status: 'succeeded',
                phase: 'done',
                output: {},
                finishedAt: new Date(),
              },
              { type: 'step-succeeded', payload: { step: i } },
            );
            times[name].push(performance.now() - t);
          }
          await store.finishRun(created.id, 'bench', { status: 'succeeded' });
        }
      }
      results[`${kind}StepEndUs`] = {
        plain: stats(times.plain),
        signed: stats(times.signed),
      };
    } finally {
      await db.close();
    }
  }

  mkdirSync(artifacts, { recursive: true });
  writeFileSync(
    path.join(artifacts, 'bench-provenance.json'),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  const r = results as any;
  const raw = r.rawSignUs.p50 + r.rawVerifyUs.p50;
  const rows: Array<[string, string]> = [
    [
      'raw ECDSA P-256 sign, p50 / p99 (µs)',
      `${r.rawSignUs.p50} / ${r.rawSignUs.p99}`,
    ],
    [
      'raw ECDSA P-256 verify, p50 / p99 (µs)',
      `${r.rawVerifyUs.p50} / ${r.rawVerifyUs.p99}`,
    ],
    [
      'statement build + sign into a bundle, p50 / p99 (µs)',
      `${r.statementSignUs.p50} / ${r.statementSignUs.p99} (${(
        r.statementSignUs.p50 / r.rawSignUs.p50
      ).toFixed(1)}× raw sign)`,
    ],
    [
      'bundle + chain verify, p50 / p99 (µs)',
      `${r.bundleAndChainVerifyUs.p50} / ${r.bundleAndChainVerifyUs.p99} (${(
        r.bundleAndChainVerifyUs.p50 / r.rawVerifyUs.p50
      ).toFixed(1)}× raw verify)`,
    ],
  ];
  for (const kind of databases()) {
    const s = r[`${kind}StepEndUs`];
    const added = s.signed.p50 - s.plain.p50;
    rows.push([
      `${kind}: step end without / with statement, p50 (p99) (µs)`,
      `${s.plain.p50} (${s.plain.p99}) / ${s.signed.p50} (${s.signed.p99})`,
    ]);
    rows.push([
      `${kind}: sign + store + verify per step, p50 (µs)`,
      `${added + r.bundleAndChainVerifyUs.p50} (${(
        (added + r.bundleAndChainVerifyUs.p50) /
        raw
      ).toFixed(1)}× raw sign + verify)`,
    ]);
  }
  const width = Math.max(...rows.map(([l]) => l.length));
  for (const [label, value] of rows) {
    process.stdout.write(`${label.padEnd(width)}  ${value}\n`);
  }
  process.stdout.write(
    `\nJSON: ${path.relative(
      process.cwd(),
      path.join(artifacts, 'bench-provenance.json'),
    )}\n`,
  );
}

main().catch(e => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
