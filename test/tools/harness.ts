// The engine in this process with the project's real MCP servers behind an McpToolPool: what the
// library suite runs the runbooks of runbooks/ through.
import { Entity } from '@backstage/catalog-model';
import {
  compileParameterSchema,
  resolveParameterDefaults,
  RunbookEntityV1alpha1,
} from '@runbooks/plugin-runbooks-common';
import {
  checkRunbookTools,
  McpServerConfig,
  McpToolPool,
  validateRunbookFiles,
} from '@runbooks/plugin-runbooks-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  ExecutionRunner,
  ExecutionWorker,
  ExecutionManager,
  stepDeclaredBlastRadius,
} from '../../plugins/runbooks-backend/src/engine';
import { freshDatabase, root } from '../fault/common';

const silent = {
  debug: () => {},
  info: () => {},
  warn: (m: string) => process.stderr.write(`warn: ${m}\n`),
  error: (m: string, e?: Error) =>
    process.stderr.write(`error: ${m} ${e?.stack ?? ''}\n`),
  child: () => silent,
};

export const bin = (name: string) =>
  path.join(root, 'packages/mcp-servers/bin', `runbooks-mcp-${name}`);

/** The runbooks of the library, by name. */
export async function libraryRunbooks(): Promise<
  Map<string, RunbookEntityV1alpha1>
> {
  const report = await validateRunbookFiles([path.join(root, 'runbooks')]);
  if (report.problems.length > 0) {
    throw new Error(`library has problems: ${JSON.stringify(report.problems)}`);
  }
  return new Map(
    report.runbooks.map(r => [r.runbook.metadata.name, r.runbook]),
  );
}

/** The demo entities of examples/, by `kind:name`. */
export function demoEntities(): Map<string, Entity> {
  const entities = new Map<string, Entity>();
  for (const file of ['examples/shop.yaml', 'examples/org.yaml']) {
    for (const doc of parseAllDocuments(
      readFileSync(path.join(root, file), 'utf8'),
    ) as any[]) {
      const entity = doc.toJS() as Entity;
      if (!entity?.kind) continue;
      entity.metadata.namespace ??= 'default';
      entities.set(
        `${entity.kind.toLocaleLowerCase('en-US')}:${entity.metadata.name}`,
        entity,
      );
    }
  }
  return entities;
}

/** The engine with a pool over the given servers, on a fresh SQLite database. */
export async function startEngine(servers: McpServerConfig[]) {
  const db = await freshDatabase('sqlite');
  const pool = new McpToolPool(
    servers,
    {
      startTimeoutMs: 60_000,
      healthCheckIntervalMs: 600_000,
      maxOutputBytes: 256 * 1024,
    },
    silent,
  );
  const runner = new ExecutionRunner({
    store: db.store,
    events: db.events,
    tools: pool,
    blastRadius: stepDeclaredBlastRadius,
    logger: silent,
    workerId: 'library',
    defaultStepTimeoutMs: 120_000,
  });
  const worker = new ExecutionWorker({
    store: db.store,
    runner,
    logger: silent,
    workerId: 'library',
    settings: {
      concurrency: 4,
      leaseMs: 60_000,
      heartbeatMs: 10_000,
      pollMs: 200,
      watchMs: 250,
    },
  });
  worker.start();
  const manager = new ExecutionManager({
    store: db.store,
    events: db.events,
    wake: () => worker.wake(),
    approvalTtlMs: 3_600_000,
  });

  /** Requests a run the way the router does: typed parameters, tool check, then create. */
  async function request(
    runbook: RunbookEntityV1alpha1,
    entity: Entity,
    given: Record<string, unknown>,
    mode: 'dry-run' | 'execute',
  ) {
    const schema = compileParameterSchema(runbook.spec.parameters, {
      defaults: resolveParameterDefaults(runbook.spec.parameters, entity),
    });
    const parameters = schema.parse(given) as Record<string, unknown>;
    const problems = await checkRunbookTools(runbook, pool, {
      context: { parameters, entity },
    });
    if (problems.length > 0) {
      throw new Error(
        `${runbook.metadata.name}: ${problems
          .map(p => `${p.stepId}: ${p.message}`)
          .join('; ')}`,
      );
    }
    return manager.create({
      runbook,
      entity,
      parameters,
      requester: 'user:default/alice',
      mode,
    });
  }

  /** Waits for the execution to end, approving (as bob) every step that waits for approval. */
  async function settle(id: string, timeoutMs = 240_000) {
    const deadline = Date.now() + timeoutMs;
    const approved: string[] = [];
    for (;;) {
      const { execution, steps } = await manager.get(id);
      if (execution.status === 'waiting-approval') {
        const step = steps[execution.currentStep];
        approved.push(step.stepId);
        await manager.decide({
          id,
          stepIndex: execution.currentStep,
          planDigest: step.planDigest!,
          decision: 'approved',
          decidedBy: 'user:default/bob',
        });
        continue;
      }
      if (
        ['succeeded', 'failed', 'cancelled', 'needs-attention'].includes(
          execution.status,
        )
      ) {
        return { execution, steps, approved };
      }
      if (Date.now() > deadline) {
        throw new Error(
          `execution ${id} did not end in ${timeoutMs} ms: ${
            execution.status
          } ${execution.statusMessage ?? ''}`,
        );
      }
      await new Promise(r => setTimeout(r, 100));
    }
  }

  return {
    db,
    pool,
    manager,
    request,
    settle,
    async stop() {
      await worker.stop({ graceMs: 5000 });
      await pool.close();
      await db.close();
    },
  };
}
