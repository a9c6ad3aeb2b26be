// Shared by the fault suites: databases, replicas as child processes, the ledger, the runbooks.
import { Entity } from '@backstage/catalog-model';
import {
  RunbookEntityV1alpha1,
  validateRunbookEntity,
} from '@runbooks/plugin-runbooks-common';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory, { Knex } from 'knex';
import {
  ATTESTED_STEP_STATUSES,
  Execution,
  ExecutionEvents,
  ExecutionManager,
  ExecutionStore,
  TERMINAL_STATUSES,
} from '../../plugins/runbooks-backend/src/engine';
import {
  KeyPairSigner,
  ProvenanceService,
  StatementRecorder,
} from '../../plugins/runbooks-backend/src/provenance';

export const root = path.resolve(__dirname, '../..');
export const artifacts = path.join(root, 'test/artifacts');

/** One line of the ledger the fault tools write. */
export interface LedgerLine {
  t: number;
  pid: number;
  worker: string;
  event: 'start' | 'effect' | 'done' | 'aborted';
  name: string;
  key: string;
}

/** The databases a fault suite runs on: SQLite always, PostgreSQL when configured. */
export function databases(): Array<'sqlite' | 'postgres'> {
  return process.env.RUNBOOKS_FAULT_POSTGRES_URL ||
    process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING
    ? ['sqlite', 'postgres']
    : ['sqlite'];
}

export function connect(client: string, connection: string): Knex {
  if (client === 'better-sqlite3') {
    const knex = knexFactory({
      client,
      connection: { filename: connection },
      useNullAsDefault: true,
      pool: {
        afterCreate: (
          conn: any,
          done: (e: Error | null, c: unknown) => void,
        ) => {
          // several processes share the file: wait for each other's locks instead of failing
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 10000');
          done(null, conn);
        },
      },
    });
    return knex;
  }
  return knexFactory({ client, connection, pool: { min: 0, max: 10 } });
}

/**
 * The store as the plugin builds it: every ended step and ended execution signed, in the same
 * transaction, with the ECDSA P-256 key in `keyPath` (the suite and its replicas share the key).
 */
export async function signingStore(
  knex: Knex,
  keyPath: string,
  instance: string,
): Promise<{ store: ExecutionStore; signer: KeyPairSigner }> {
  const signer = new KeyPairSigner(
    createPrivateKey(readFileSync(keyPath, 'utf8')),
  );
  const store = await ExecutionStore.create({
    database: { getClient: async () => knex, migrations: { skip: true } },
    provenance: new StatementRecorder(signer, instance),
  });
  return { store, signer };
}

/** A fresh database with the plugin's migrations applied, and a signing key of its own. */
export async function freshDatabase(kind: 'sqlite' | 'postgres') {
  const dir = path.join(tmpdir(), `runbooks-fault-${randomUUID().slice(0, 8)}`);
  mkdirSync(dir, { recursive: true });
  let client: string;
  let connection: string;
  let drop = async () => {};
  if (kind === 'sqlite') {
    client = 'better-sqlite3';
    connection = path.join(dir, 'runbooks.sqlite');
  } else {
    const base =
      process.env.RUNBOOKS_FAULT_POSTGRES_URL ??
      process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING!;
    const name = `runbooks_fault_${randomUUID()
      .replace(/-/g, '')
      .slice(0, 12)}`;
    const admin = knexFactory({ client: 'pg', connection: base });
    await admin.raw(`CREATE DATABASE ${name}`);
    await admin.destroy();
    client = 'pg';
    const url = new URL(base);
    url.pathname = `/${name}`;
    connection = url.toString();
    drop = async () => {
      const again = knexFactory({ client: 'pg', connection: base });
      await again.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.destroy();
    };
  }
  const knex = connect(client, connection);
  await knex.migrate.latest({
    directory: path.join(root, 'plugins/runbooks-backend/migrations'),
  });
  const signingKeyPath = path.join(dir, 'signing-key.pem');
  writeFileSync(
    signingKeyPath,
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }),
    { mode: 0o600 },
  );
  const { store, signer } = await signingStore(
    knex,
    signingKeyPath,
    'fault-suite',
  );
  const provenance = new ProvenanceService({
    store,
    trustedKeys: [signer.publicKey],
    currentKeyHint: signer.keyHint,
  });
  const events = new ExecutionEvents(store);
  const ledgerPath = path.join(dir, 'ledger.jsonl');
  writeFileSync(ledgerPath, '');
  return {
    kind,
    client,
    connection,
    knex,
    store,
    events,
    ledgerPath,
    signingKeyPath,
    provenance,
    manager: new ExecutionManager({
      store,
      events,
      wake: () => {},
      approvalTtlMs: 3_600_000,
    }),
    async close() {
      await knex.destroy();
      await drop();
    },
  };
}

export type FaultDatabase = Awaited<ReturnType<typeof freshDatabase>>;

export function readLedger(ledgerPath: string): LedgerLine[] {
  return readFileSync(ledgerPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(l => JSON.parse(l));
}

/** What the signed records of a database's executions came to. */
export interface ProvenanceFigures {
  executions: number;
  statements: number;
  verified: number;
  open: number;
  unsigned: number;
  broken: number;
}

/**
 * Verifies every execution in the database against its signed statements, as the plugin does. An
 * ended execution must verify (every ended step signed, the chain closed by its checkpoint, the
 * stored records still what was signed); any other may be open or unsigned, never broken. Beyond
 * what `verify` looks at, for every execution: each ended step has the statement of its attempt
 * (`verify` skips unfinished executions without statements), each step statement names a step
 * whose end is stored, and only an ended execution has a checkpoint. Prints one line; fails naming
 * each execution that does not hold.
 */
export async function verifyProvenance(
  db: FaultDatabase,
  scenario: string,
): Promise<ProvenanceFigures> {
  const figures: ProvenanceFigures = {
    executions: 0,
    statements: 0,
    verified: 0,
    open: 0,
    unsigned: 0,
    broken: 0,
  };
  const failures: string[] = [];
  const check = async (execution: Execution) => {
    const report = await db.provenance.verify(execution);
    const [steps, statements] = await Promise.all([
      db.store.getSteps(execution.id),
      db.store.listStatements(execution.id),
    ]);
    figures.executions++;
    figures.statements += statements.length;
    figures[report.status]++;
    const fail = (problem: string) =>
      failures.push(
        `execution ${execution.id} (${execution.status}): provenance ${
          report.status
        } with ${
          report.statements
        } statement(s), ${problem}; firstBroken ${JSON.stringify(
          report.firstBroken ?? null,
        )}`,
      );
    const ended = TERMINAL_STATUSES.includes(execution.status);
    if (ended && report.status !== 'verified') {
      fail('an ended execution must verify');
    }
    if (!ended && report.status === 'broken') {
      fail('an unfinished execution must not be broken');
    }
    for (const step of steps) {
      if (!ATTESTED_STEP_STATUSES.includes(step.status)) continue;
      const signed = statements.some(
        s =>
          s.kind === 'step' &&
          s.stepIndex === step.stepIndex &&
          s.attempt === step.attempt,
      );
      if (!signed) {
        fail(
          `step ${step.stepIndex} '${step.stepId}' ended (${step.status}, attempt ${step.attempt}) without its statement`,
        );
      }
    }
    for (const statement of statements) {
      if (statement.kind === 'checkpoint') {
        if (!ended) {
          fail(
            `statement ${statement.sequence} is a checkpoint, but the execution has not ended`,
          );
        }
        continue;
      }
      const step = steps.find(s => s.stepIndex === statement.stepIndex);
      const stored =
        step !== undefined &&
        (step.attempt > statement.attempt! ||
          (step.attempt === statement.attempt &&
            ATTESTED_STEP_STATUSES.includes(step.status)));
      if (!stored) {
        fail(
          `statement ${statement.sequence} records the end of step ${
            statement.stepIndex
          } attempt ${statement.attempt}, but the stored step is ${
            step ? `${step.status} at attempt ${step.attempt}` : 'missing'
          }`,
        );
      }
    }
  };
  let cursor: string | undefined;
  do {
    const page = await db.store.listExecutions({}, { limit: 500, cursor });
    for (const execution of page.items) await check(execution);
    cursor = page.nextCursor;
  } while (cursor);
  const [{ n }] = await db.knex('executions').count({ n: '*' });
  process.stdout.write(
    `# provenance after ${scenario} on ${db.kind}: ${figures.executions} executions, ${figures.statements} statements, ${figures.verified} verified, ${figures.open} open, ${figures.unsigned} unsigned, ${figures.broken} broken\n`,
  );
  assert.equal(
    figures.executions,
    Number(n),
    'not every execution was verified',
  );
  assert.equal(
    failures.length,
    0,
    `provenance after ${scenario} on ${db.kind}: ${
      failures.length
    } execution check(s) failed:\n${failures.slice(0, 20).join('\n')}`,
  );
  return figures;
}

/** A replica: the engine in a child process. */
export class Replica {
  child?: ChildProcess;
  exited?: Promise<void>;
  stderr = '';

  constructor(
    private readonly db: FaultDatabase,
    readonly workerId: string,
    private readonly settings: Record<string, string>,
  ) {}

  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        '-r',
        require.resolve('@backstage/cli/config/nodeTransform.cjs'),
        path.join(__dirname, 'worker-process.ts'),
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          DB_CLIENT: this.db.client,
          DB_CONNECTION: this.db.connection,
          LEDGER: this.db.ledgerPath,
          SIGNING_KEY_FILE: this.db.signingKeyPath,
          WORKER_ID: this.workerId,
          ...this.settings,
          ...extraEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stderr!.on('data', d => {
      this.stderr = (this.stderr + d.toString()).slice(-5000);
    });
    this.exited = new Promise(resolve => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', d => {
        if (d.toString().includes('ready')) resolve();
      });
      child.once('exit', code =>
        reject(
          new Error(
            `replica ${this.workerId} exited (${code}) before it was ready: ${this.stderr}`,
          ),
        ),
      );
    });
  }

  get alive(): boolean {
    return (
      this.child !== undefined &&
      this.child.exitCode === null &&
      this.child.signalCode === null
    );
  }

  async kill(): Promise<number> {
    const at = Date.now();
    this.child?.kill('SIGKILL');
    await this.exited;
    return at;
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child!.kill('SIGTERM');
    await this.exited;
  }
}

const target: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'checkout', namespace: 'default' },
  spec: { type: 'service', owner: 'team-checkout' },
};

/** A runbook of the given steps; each step's input names it uniquely per execution. */
export function faultRunbook(
  name: string,
  steps: Array<{
    tool: string;
    mutates: boolean;
    idempotent?: boolean;
    approval?: 'always';
  }>,
): RunbookEntityV1alpha1 {
  const result = validateRunbookEntity({
    apiVersion: 'runbooks.backstage.io/v1alpha1',
    kind: 'Runbook',
    metadata: { name, namespace: 'default' },
    spec: {
      owner: 'sre',
      parameters: { run: { type: 'string' } },
      steps: steps.map((s, i) => ({
        id: `s${i}`,
        tool: s.tool,
        mutates: s.mutates,
        ...(s.mutates
          ? { dryRun: true, idempotent: s.idempotent ?? false }
          : {}),
        ...(s.approval ? { approval: s.approval } : {}),
        input: { name: `\${{ parameters.run }}-s${i}` },
      })),
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.runbook;
}

export async function createExecution(
  db: FaultDatabase,
  runbook: RunbookEntityV1alpha1,
  manager: ExecutionManager = db.manager,
) {
  return manager.create({
    runbook,
    entity: target,
    parameters: { run: randomUUID() },
    requester: 'user:default/alice',
    mode: 'execute',
  });
}

/** Writes a suite's figures to test/artifacts and prints them. */
export function report(name: string, figures: Record<string, unknown>) {
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(
    path.join(artifacts, `${name}.json`),
    `${JSON.stringify(figures, null, 2)}\n`,
  );
  process.stdout.write(`# ${name}: ${JSON.stringify(figures)}\n`);
}

/** A small seeded random generator (mulberry32), so a failing run can be replayed. */
export function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
