import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import {
  BundleVerifier,
  canonicalJson,
  InProcessToolInvoker,
  planDigest,
  sha256Hex,
  verifyExportedBundles,
} from '@runbooks/plugin-runbooks-node';
import { Knex } from 'knex';
import {
  createSignedEngine,
  engineManager,
  startEngineWorker,
  validRunbook,
  waitForExecution,
} from '../__testUtils__/engine';
import {
  checkoutEntity,
  newSigningKey,
  readStep,
  replicaTools,
  scaleStep,
} from '../__testUtils__/fixtures';
import { ExecutionStore } from '../engine';
import { KeyPairSigner } from './signing';
import { ProvenanceService } from './ProvenanceService';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });

const runbook = validRunbook('scale', {
  owner: 'group:default/sre',
  parameters: { replicas: { type: 'integer', minimum: 1 } },
  steps: [
    readStep,
    scaleStep,
    { id: 'check', tool: 'k8s/get', mutates: false },
    { id: 'again', tool: 'k8s/get', mutates: false },
  ],
});

type Row = Record<string, any>;

/** Flips one byte of a bundle's DSSE payload (the statement) at a relative offset. */
function flipPayloadByte(bundleText: string, at: number): string {
  const bundle = JSON.parse(bundleText);
  const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
  const i = Math.floor(at * (payload.length - 1));
  payload[i] ^= 0x01;
  bundle.dsseEnvelope.payload = payload.toString('base64');
  return JSON.stringify(bundle);
}

/** Flips one byte of a bundle's signature. */
function flipSignatureByte(bundleText: string, at: number): string {
  const bundle = JSON.parse(bundleText);
  const sig = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
  sig[Math.floor(at * (sig.length - 1))] ^= 0x80;
  bundle.dsseEnvelope.signatures[0].sig = sig.toString('base64');
  return JSON.stringify(bundle);
}

/**
 * An attacker's rewrite: the statement says another requester, signed with the attacker's key
 * (whose public key replaces the real one in the bundle), chain fields left intact.
 */
async function resignWithOtherKey(bundleText: string, attacker: KeyPairSigner) {
  const bundle = JSON.parse(bundleText);
  const statement = JSON.parse(
    Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString(),
  );
  statement.predicate.requester = 'user:default/mallory';
  const forged = await attacker.sign(
    Buffer.from(canonicalJson(statement)),
    bundle.dsseEnvelope.payloadType,
  );
  return JSON.stringify(forged);
}

interface Case {
  kind: string;
  detail: string;
  /** Position of the first broken link the verification must report, per execution. */
  expected: Record<string, number>;
}

describe.each(databases.eachSupportedId())(
  'the tamper suite on %s',
  (dbId: TestDatabaseId) => {
    let knex: Knex;
    let store: ExecutionStore;
    let signer: KeyPairSigner;
    let service: ProvenanceService;
    let ids: string[];

    beforeAll(async () => {
      knex = await databases.init(dbId);
      const engine = await createSignedEngine(knex, 'tamper-test');
      ({ store, signer, provenance: service } = engine);
      const worker = startEngineWorker({
        ...engine,
        tools: new InProcessToolInvoker(
          replicaTools({ replicas: 1 }, { snapshots: true }),
          planDigest,
        ),
        workerId: 'w',
        settings: {
          concurrency: 4,
          leaseMs: 5000,
          heartbeatMs: 1000,
          pollMs: 20,
          watchMs: 50,
        },
      });
      const manager = engineManager(engine, () => worker.wake());
      ids = [];
      for (let i = 0; i < 4; i++) {
        const execution = await manager.create({
          runbook,
          entity: checkoutEntity,
          parameters: { replicas: i + 2 },
          requester: 'user:default/alice',
          mode: i % 2 === 0 ? 'execute' : 'dry-run',
        });
        ids.push(execution.id);
      }
      for (const id of ids) {
        await waitForExecution(store, id, ['succeeded'], 30_000);
      }
      await worker.stop({ graceMs: 100 });
    });

    const rowsOf = (id: string): Promise<Row[]> =>
      knex('execution_statements').where({ execution_id: id }).orderBy('seq');

    async function restore(snapshot: Map<string, Row[]>) {
      for (const [id, rows] of snapshot) {
        await knex('execution_statements').where({ execution_id: id }).delete();
        await knex('execution_statements').insert(rows);
      }
    }

    async function verifyAll() {
      const result: Record<string, { status: string; position?: number }> = {};
      for (const id of ids) {
        const report = await service.verify(await store.getExecution(id));
        result[id] = {
          status: report.status,
          position: report.firstBroken?.position,
        };
      }
      return result;
    }

    /** The exported JSONL of every execution, in order, as lines. */
    async function exportLines() {
      const lines: string[] = [];
      for (const id of ids) lines.push(...(await service.bundles(id)));
      return lines;
    }

    it('verifies every untouched execution, each step and checkpoint signed', async () => {
      for (const id of ids) {
        const report = await service.verify(await store.getExecution(id));
        expect(report).toMatchObject({
          status: 'verified',
          statements: 5,
          checkpoint: 'matches',
        });
        expect(report.entries.map(e => [e.kind, e.stepId, e.record])).toEqual([
          ['step', 'read', 'matches'],
          ['step', 'scale', 'matches'],
          ['step', 'check', 'matches'],
          ['step', 'again', 'matches'],
          ['checkpoint', undefined, undefined],
        ]);
      }
      const exported = verifyExportedBundles(
        `${(await exportLines()).join('\n')}\n`,
        new BundleVerifier([signer.publicKey]),
      );
      expect(exported.verified).toBe(true);
      expect(exported.executions).toHaveLength(4);
    });

    it('detects every tampering, in the store and in an export, at the right link', async () => {
      const db = knex;
      const original = new Map<string, Row[]>();
      for (const id of ids) original.set(id, await rowsOf(id));
      const [a, b] = ids;
      const n = original.get(a)!.length; // 5
      const attacker = new KeyPairSigner(newSigningKey().privateKey);
      const outcomes: Array<{
        level: string;
        kind: string;
        detail: string;
        detected: boolean;
        rightLink: boolean;
      }> = [];

      const cases: Array<
        Case & {
          /** Changes the stored rows. */
          store?: () => Promise<void>;
          /** Changes the exported lines (the executions' bundles, in order). */
          file?: (lines: string[]) => Promise<string[]> | string[];
          /** Verifies with other keys than the real one. */
          keys?: () => BundleVerifier;
        }
      > = [];
      const offset = (id: string) => ids.indexOf(id) * n;

      for (const position of [1, 3, n]) {
        for (const at of [0, 0.37, 1]) {
          cases.push({
            kind: 'flip a byte of a statement',
            detail: `position ${position}, payload byte at ${at}`,
            expected: { [a]: position },
            store: async () => {
              const row = original.get(a)![position - 1];
              await db('execution_statements')
                .where({ execution_id: a, seq: position })
                .update({ bundle: flipPayloadByte(row.bundle, at) });
            },
            file: lines => {
              const copy = [...lines];
              copy[offset(a) + position - 1] = flipPayloadByte(
                copy[offset(a) + position - 1],
                at,
              );
              return copy;
            },
          });
        }
        cases.push({
          kind: 'flip a byte of a statement',
          detail: `position ${position}, signature byte`,
          expected: { [a]: position },
          store: async () => {
            const row = original.get(a)![position - 1];
            await db('execution_statements')
              .where({ execution_id: a, seq: position })
              .update({ bundle: flipSignatureByte(row.bundle, 0.5) });
          },
          file: lines => {
            const copy = [...lines];
            const i = offset(a) + position - 1;
            copy[i] = flipSignatureByte(copy[i], 0.5);
            return copy;
          },
        });
      }

      for (const [x, y] of [
        [1, 2],
        [2, 4],
        [3, n],
        [1, n],
      ]) {
        cases.push({
          kind: 'reorder two statements',
          detail: `positions ${x} and ${y}`,
          expected: { [a]: x },
          store: async () => {
            const rows = original.get(a)!;
            await db('execution_statements')
              .where({ execution_id: a, seq: x })
              .update({ bundle: rows[y - 1].bundle });
            await db('execution_statements')
              .where({ execution_id: a, seq: y })
              .update({ bundle: rows[x - 1].bundle });
          },
          file: lines => {
            const copy = [...lines];
            const i = offset(a) + x - 1;
            const j = offset(a) + y - 1;
            [copy[i], copy[j]] = [copy[j], copy[i]];
            return copy;
          },
        });
      }

      for (const position of [2, 3, 4]) {
        cases.push({
          kind: 'delete a statement in the middle',
          detail: `position ${position}`,
          expected: { [a]: position },
          store: async () => {
            await db('execution_statements')
              .where({ execution_id: a, seq: position })
              .delete();
            // the rest moves up, as if the record had never been there
            for (let seq = position + 1; seq <= n; seq++) {
              await db('execution_statements')
                .where({ execution_id: a, seq })
                .update({ seq: seq - 1 });
            }
          },
          file: lines => lines.filter((_, i) => i !== offset(a) + position - 1),
        });
      }

      for (const cut of [1, 2, 3]) {
        cases.push({
          kind: 'delete the tail',
          detail: `last ${cut} statement(s)`,
          expected: { [b]: n - cut + 1 },
          store: async () => {
            await db('execution_statements')
              .where({ execution_id: b })
              .andWhere('seq', '>', n - cut)
              .delete();
          },
          file: lines =>
            lines.filter(
              (_, i) => i < offset(b) + n - cut || i >= offset(b) + n,
            ),
        });
      }

      for (const position of [1, 2, n]) {
        cases.push({
          kind: 'swap a statement between executions',
          detail: `position ${position} of the first two executions`,
          expected: { [a]: position, [b]: position },
          store: async () => {
            await db('execution_statements')
              .where({ execution_id: a, seq: position })
              .update({ bundle: original.get(b)![position - 1].bundle });
            await db('execution_statements')
              .where({ execution_id: b, seq: position })
              .update({ bundle: original.get(a)![position - 1].bundle });
          },
          file: lines => {
            const copy = [...lines];
            const i = offset(a) + position - 1;
            const j = offset(b) + position - 1;
            [copy[i], copy[j]] = [copy[j], copy[i]];
            return copy;
          },
        });
      }

      for (const position of [1, 3, n]) {
        cases.push({
          kind: 'replace the public key',
          detail: `statement ${position} rewritten and signed with another key`,
          expected: { [a]: position },
          store: async () => {
            await db('execution_statements')
              .where({ execution_id: a, seq: position })
              .update({
                bundle: await resignWithOtherKey(
                  original.get(a)![position - 1].bundle,
                  attacker,
                ),
              });
          },
          file: async lines => {
            const copy = [...lines];
            const i = offset(a) + position - 1;
            copy[i] = await resignWithOtherKey(copy[i], attacker);
            return copy;
          },
        });
      }
      cases.push({
        kind: 'replace the public key',
        detail: 'the verifier is handed another public key',
        expected: Object.fromEntries(ids.map(id => [id, 1])),
        keys: () => new BundleVerifier([attacker.publicKey]),
      });

      for (const c of cases) {
        // in the store
        if (c.store) await c.store();
        const verifier = c.keys?.();
        const stored: Record<string, number | undefined> = {};
        for (const id of ids) {
          const execution = await store.getExecution(id);
          const report = verifier
            ? new ProvenanceService({
                store,
                trustedKeys: verifier.keys,
                currentKeyHint: signer.keyHint,
              }).verify(execution)
            : service.verify(execution);
          stored[id] = (await report).firstBroken?.position;
        }
        await restore(original);
        const expectedAll = Object.fromEntries(
          ids.map(id => [id, c.expected[id]]),
        );
        outcomes.push({
          level: 'store',
          kind: c.kind,
          detail: c.detail,
          detected: Object.keys(c.expected).every(
            id => stored[id] !== undefined,
          ),
          rightLink: JSON.stringify(stored) === JSON.stringify(expectedAll),
        });

        // in an exported file
        const lines = await exportLines();
        const tampered = c.file ? await c.file(lines) : lines;
        const report = verifyExportedBundles(
          `${tampered.join('\n')}\n`,
          verifier ?? new BundleVerifier([signer.publicKey]),
        );
        const found: Record<string, number | undefined> = {};
        for (const e of report.executions) {
          found[e.executionId] = e.firstBroken?.position;
        }
        const fileExpected = Object.fromEntries(
          ids.map(id => [id, c.expected[id]]),
        );
        outcomes.push({
          level: 'export',
          kind: c.kind,
          detail: c.detail,
          detected: !report.verified,
          // moving lines between executions in a file changes no record: grouped by execution,
          // the moved lines are reported out of place and a chain they left or joined breaks
          rightLink: c.kind.startsWith('swap')
            ? report.problems.some(p => p.problem.includes('away from')) &&
              (found[a] !== undefined || found[b] !== undefined)
            : JSON.stringify(
                Object.fromEntries(ids.map(id => [id, found[id]])),
              ) === JSON.stringify(fileExpected),
        });
      }

      // untouched again after every restore
      expect(Object.values(await verifyAll()).map(r => r.status)).toEqual(
        ids.map(() => 'verified'),
      );
      const kinds = new Set(outcomes.map(o => o.kind));
      const detected = outcomes.filter(o => o.detected).length;
      const right = outcomes.filter(o => o.rightLink).length;
      process.stderr.write(
        `tamper suite (${dbId}): ${outcomes.length} cases of ${
          kinds.size
        } kinds (store and export), ${detected} detected (${Math.round(
          (100 * detected) / outcomes.length,
        )}%), first broken link right in ${right}\n`,
      );
      expect(kinds.size).toBe(6);
      expect(outcomes.filter(o => !o.detected || !o.rightLink)).toEqual([]);
    });

    it('keeps a statement digest equal to the SHA-256 of its signed payload', async () => {
      const rows = await rowsOf(ids[0]);
      for (const row of rows) {
        const payload = Buffer.from(
          JSON.parse(row.bundle).dsseEnvelope.payload,
          'base64',
        );
        expect(row.statement_digest).toBe(sha256Hex(payload));
        expect(canonicalJson(JSON.parse(payload.toString()))).toBe(
          payload.toString(),
        );
      }
    });
  },
);
