// Shared by the fault suites: databases, replicas as child processes, the ledger, the runbooks.
import { Entity } from '@backstage/catalog-model';
import {
  RunbookEntityV1alpha1,
  validateRunbookEntity,
} from '@runbooks/plugin-runbooks-common';
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory, { Knex } from 'knex';
import {
  ExecutionEvents,
  ExecutionManager,
  ExecutionStore,
} from '../../plugins/runbooks-backend/src/engine';

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

/** A fresh database with the plugin's migrations applied. */
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
  const store = await ExecutionStore.create({
    database: { getClient: async () => knex, migrations: { skip: true } },
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
