import { mockCredentials } from '@backstage/backend-test-utils';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import {
  ENDED,
  runExecution,
  startRunbooksTestBackend,
  waitForStatus,
} from '../__testUtils__/backend';
import {
  checkoutEntity,
  newSigningKey,
  replicaTools,
  scaleRunbookEntity,
  statementOf,
} from '../__testUtils__/fixtures';

/**
 * Exported bundles checked by a verifier that is not ours: test/provenance/verify_dsse.py, which
 * verifies the DSSE signatures with securesystemslib (Debian's python3-securesystemslib) and checks
 * the hash chains in Python.
 */

jest.setTimeout(120_000);

const VERIFIER = path.resolve(
  __dirname,
  '../../../../test/provenance/verify_dsse.py',
);
const SUMMARY =
  /^independently verified: (\d+) signature\(s\) of (\d+) execution\(s\), (\d+) failure\(s\)$/m;

const alice = mockCredentials.user.header('user:default/alice');
const bob = mockCredentials.user.header('user:default/bob');

const scale = scaleRunbookEntity();
const gated = scaleRunbookEntity('gated', { approval: 'always' });

/** The interpreter that has securesystemslib: `python3`, or the system one it is installed for. */
function pythonWithSecuresystemslib(): string {
  const candidates = [process.env.PYTHON3, 'python3', '/usr/bin/python3'];
  const tried: string[] = [];
  for (const python of candidates) {
    if (!python || tried.includes(python)) continue;
    tried.push(python);
    const probe = spawnSync(python, ['-c', 'import securesystemslib'], {
      encoding: 'utf8',
    });
    if (probe.status === 0) return python;
  }
  throw new Error(
    `securesystemslib is not importable by ${tried.join(
      ' or ',
    )}: the independent provenance check needs it, apt-get install -y python3-securesystemslib`,
  );
}

function runVerifier(python: string, jsonl: string, keys: string[]) {
  const run = spawnSync(python, [VERIFIER, jsonl, ...keys], {
    encoding: 'utf8',
  });
  const summary = SUMMARY.exec(run.stdout);
  return {
    status: run.status,
    stdout: run.stdout,
    stderr: run.stderr,
    summary: summary
      ? {
          line: summary[0],
          signatures: Number(summary[1]),
          executions: Number(summary[2]),
          failures: Number(summary[3]),
        }
      : undefined,
  };
}

async function startBackend(signingKey: string) {
  const { server } = await startRunbooksTestBackend({
    entities: [checkoutEntity, scale, gated],
    tools: replicaTools({ replicas: 2 }),
    engine: { concurrency: 60 },
    config: { provenance: { signingKey } },
  });
  return server;
}

type Plan = {
  runbook: 'scale' | 'gated';
  mode: 'dry-run' | 'execute';
  /** What is done when the execution waits for approval. */
  onApproval?: 'approve' | 'reject' | 'cancel';
  expected: string;
};

const PLANS: Plan[] = [
  ...Array.from(
    { length: 20 },
    (): Plan => ({
      runbook: 'scale',
      mode: 'dry-run',
      expected: 'succeeded',
    }),
  ),
  ...Array.from(
    { length: 18 },
    (): Plan => ({
      runbook: 'scale',
      mode: 'execute',
      expected: 'succeeded',
    }),
  ),
  ...Array.from(
    { length: 12 },
    (): Plan => ({
      runbook: 'gated',
      mode: 'execute',
      onApproval: 'approve',
      expected: 'succeeded',
    }),
  ),
  ...Array.from(
    { length: 2 },
    (): Plan => ({
      runbook: 'gated',
      mode: 'execute',
      onApproval: 'reject',
      expected: 'failed',
    }),
  ),
  ...Array.from(
    { length: 2 },
    (): Plan => ({
      runbook: 'gated',
      mode: 'execute',
      onApproval: 'cancel',
      expected: 'cancelled',
    }),
  ),
];

/** Requests an execution as alice and drives it to its end: bob decides, or alice cancels. */
async function runToEnd(server: any, plan: Plan, replicas: number) {
  const id = await runExecution(server, plan.runbook, { replicas }, plan.mode);
  const wait = { timeoutMs: 60_000, intervalMs: 50 };
  let details = await waitForStatus(
    server,
    id,
    plan.onApproval ? [...ENDED, 'waiting-approval'] : ENDED,
    wait,
  );
  if (details.execution.status === 'waiting-approval') {
    const step = details.steps.find(
      (s: any) => s.status === 'waiting-approval',
    );
    const acted =
      plan.onApproval === 'cancel'
        ? await request(server)
            .post(`/api/runbooks/executions/${id}/cancel`)
            .set('Authorization', alice)
        : await request(server)
            .post(
              `/api/runbooks/executions/${id}/steps/${step.stepIndex}/decision`,
            )
            .set('Authorization', bob)
            .send({
              decision: plan.onApproval === 'approve' ? 'approved' : 'rejected',
              planDigest: step.planDigest,
            });
    expect(acted.status).toBe(200);
    details = await waitForStatus(server, id, ENDED, wait);
  }
  return { id, status: details.execution.status as string };
}

describe('exported provenance, verified by securesystemslib', () => {
  it('verifies every exported bundle and chain, and catches a corrupted signature', async () => {
    // first, so that a machine without securesystemslib fails at once, not after the run
    const python = pythonWithSecuresystemslib();

    const { privateKey, privatePem } = newSigningKey();
    const hint = createHash('sha256')
      .update(
        createPublicKey(privateKey).export({ type: 'spki', format: 'der' }),
      )
      .digest('hex');
    const server = await startBackend(privatePem);

    const from = new Date(Date.now() - 60_000);
    const ended = await Promise.all(
      PLANS.map((plan, i) => runToEnd(server, plan, (i % 20) + 1)),
    );
    expect(ended.map(e => e.status)).toEqual(PLANS.map(p => p.expected));
    const to = new Date(Date.now() + 60_000);

    const exported = await request(server)
      .get('/api/runbooks/audit/bundles')
      .query({ from: from.toISOString(), to: to.toISOString() })
      .set('Authorization', alice)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done(null, text));
      });
    expect(exported.status).toBe(200);
    const lines = (exported.body as string).split('\n').filter(Boolean);

    const keys = await request(server)
      .get('/api/runbooks/provenance/keys')
      .set('Authorization', alice);
    expect(keys.status).toBe(200);
    expect(keys.body.keys).toEqual([
      expect.objectContaining({ hint, current: true }),
    ]);

    // the approvals are in the signed statements: bob's 12 approvals and 2 rejections
    const decisions = lines
      .map(statementOf)
      .flatMap(s => s.predicate.approvals ?? [])
      .map((a: any) => `${a.approver} ${a.decision}`);
    expect(
      decisions.filter(d => d === 'user:default/bob approved'),
    ).toHaveLength(12);
    expect(
      decisions.filter(d => d === 'user:default/bob rejected'),
    ).toHaveLength(2);
    const exportedExecutions = new Set(
      lines.map(l => statementOf(l).predicate.execution.id),
    );
    expect([...exportedExecutions].sort()).toEqual(ended.map(e => e.id).sort());

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbooks-dsse-'));
    try {
      const keyFiles = keys.body.keys.map((k: any, i: number) => {
        const file = path.join(dir, `key-${i}.pem`);
        fs.writeFileSync(file, k.publicKeyPem);
        return file;
      });
      const bundlesFile = path.join(dir, 'bundles.jsonl');
      fs.writeFileSync(bundlesFile, lines.map(l => `${l}\n`).join(''));

      const good = runVerifier(python, bundlesFile, keyFiles);
      process.stderr.write(`${good.summary?.line ?? good.stdout}\n`);
      expect({ status: good.status, stdout: good.stdout }).toEqual({
        status: 0,
        stdout: expect.stringMatching(SUMMARY),
      });
      expect(good.summary).toEqual({
        line: expect.any(String),
        signatures: lines.length,
        executions: PLANS.length,
        failures: 0,
      });
      expect(good.summary!.executions).toBeGreaterThanOrEqual(50);

      // one signature corrupted: that line, and only it, fails
      const target = Math.floor(lines.length / 2);
      const bundle = JSON.parse(lines[target]);
      const sig = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
      sig[sig.length - 5] ^= 0x01;
      bundle.dsseEnvelope.signatures[0].sig = sig.toString('base64');
      const corrupted = [...lines];
      corrupted[target] = JSON.stringify(bundle);
      const corruptedFile = path.join(dir, 'corrupted.jsonl');
      fs.writeFileSync(corruptedFile, corrupted.map(l => `${l}\n`).join(''));
      const bad = runVerifier(python, corruptedFile, keyFiles);
      process.stderr.write(`corrupted signature: ${bad.stdout}`);
      expect(bad.status).toBe(1);
      expect(bad.summary).toMatchObject({
        signatures: lines.length - 1,
        failures: 1,
      });
      expect(bad.stdout).toContain(
        `line ${target + 1}: execution ${
          statementOf(lines[target]).predicate.execution.id
        } sequence ${
          statementOf(lines[target]).predicate.sequence
        }: signature by key ${hint} does not verify`,
      );

      // a statement deleted from the middle of a chain: every signature holds, the chain does not
      const second = lines.findIndex(
        l => statementOf(l).predicate.sequence === 2,
      );
      const truncatedFile = path.join(dir, 'truncated.jsonl');
      fs.writeFileSync(
        truncatedFile,
        lines
          .filter((_, i) => i !== second)
          .map(l => `${l}\n`)
          .join(''),
      );
      const truncated = runVerifier(python, truncatedFile, keyFiles);
      expect(truncated.status).toBe(1);
      expect(truncated.summary).toMatchObject({
        signatures: lines.length - 1,
      });
      expect(truncated.stdout).toMatch(
        new RegExp(
          `^line ${second + 1}: execution ${
            statementOf(lines[second]).predicate.execution.id
          } sequence 3: expected sequence 2$`,
          'm',
        ),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
