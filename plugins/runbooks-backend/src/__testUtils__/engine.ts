import { mockServices } from '@backstage/backend-test-utils';
import { validateRunbookEntity } from '@runbooks/plugin-runbooks-common';
import { ToolInvoker } from '@runbooks/plugin-runbooks-node';
import { Knex } from 'knex';
import {
  ExecutionEvents,
  ExecutionManager,
  ExecutionRunner,
  ExecutionStatus,
  ExecutionStore,
  ExecutionWorker,
  stepDeclaredBlastRadius,
  WorkerSettings,
} from '../engine';
import {
  KeyPairSigner,
  ProvenanceService,
  StatementRecorder,
} from '../provenance';
import { newSigningKey } from './fixtures';

/** The validated runbook runbook:default/`name` with `spec` as given (nothing added). */
export function validRunbook(name: string, spec: Record<string, unknown>) {
  const result = validateRunbookEntity({
    apiVersion: 'runbooks.backstage.io/v1alpha1',
    kind: 'Runbook',
    metadata: { name, namespace: 'default' },
    spec,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.runbook;
}

/**
 * The engine's store on `knex` (migrated), recording a signed statement for every ended step and
 * execution with a new key (`instance` names the writer), the provenance service that trusts that
 * key, and the execution events.
 */
export async function createSignedEngine(knex: Knex, instance: string) {
  const signer = new KeyPairSigner(newSigningKey().privateKey);
  const store = await ExecutionStore.create({
    database: { getClient: async () => knex, migrations: { skip: false } },
    provenance: new StatementRecorder(signer, instance),
  });
  const provenance = new ProvenanceService({
    store,
    trustedKeys: [signer.publicKey],
    currentKeyHint: signer.keyHint,
  });
  const events = new ExecutionEvents(store);
  return { signer, store, provenance, events };
}

/**
 * Starts a worker `workerId` that runs executions with `tools` (blast radius as the steps declare
 * it, a 10 s step timeout).
 */
export function startEngineWorker(options: {
  store: ExecutionStore;
  events: ExecutionEvents;
  tools: ToolInvoker;
  workerId: string;
  settings: WorkerSettings;
}) {
  const { store, events, tools, workerId, settings } = options;
  const worker = new ExecutionWorker({
    store,
    logger: mockServices.logger.mock(),
    workerId,
    runner: new ExecutionRunner({
      store,
      events,
      tools,
      blastRadius: stepDeclaredBlastRadius,
      logger: mockServices.logger.mock(),
      workerId,
      defaultStepTimeoutMs: 10_000,
    }),
    settings,
  });
  worker.start();
  return worker;
}

/** An execution manager whose approvals last a minute; `wake` wakes the workers. */
export function engineManager(
  engine: { store: ExecutionStore; events: ExecutionEvents },
  wake: () => void,
) {
  return new ExecutionManager({
    store: engine.store,
    events: engine.events,
    wake,
    approvalTtlMs: 60_000,
  });
}

/**
 * Polls the store until execution `id` has one of `statuses`; the execution then. Throws after
 * `timeoutMs` (20 s unless told).
 */
export async function waitForExecution(
  store: ExecutionStore,
  id: string,
  statuses: ExecutionStatus[],
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const execution = await store.getExecution(id);
    if (statuses.includes(execution.status)) return execution;
    if (Date.now() > deadline) {
      throw new Error(
        `execution ${id} is ${execution.status} (${execution.statusMessage}), not ${statuses}`,
      );
    }
    await new Promise(r => setTimeout(r, 20));
  }
}
