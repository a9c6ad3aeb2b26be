import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { parseDuration } from '@runbooks/plugin-runbooks-common';
import {
  McpToolPool,
  readMcpToolsConfig,
  runbooksToolsExtensionPoint,
  ToolInvoker,
} from '@runbooks/plugin-runbooks-node';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  ExecutionEvents,
  ExecutionManager,
  ExecutionRunner,
  ExecutionStore,
  ExecutionWorker,
  stepDeclaredBlastRadius,
} from './engine';
import { RunbookCatalog } from './runbook';
import { createRouter } from './service';
import { CompositeToolInvoker } from './tools';

/**
 * The runbooks backend plugin.
 * @public
 */
export const runbooksPlugin = createBackendPlugin({
  pluginId: 'runbooks',
  register(env) {
    const invokers: ToolInvoker[] = [];
    env.registerExtensionPoint(runbooksToolsExtensionPoint, {
      addToolInvoker(invoker) {
        invokers.push(invoker);
      },
    });

    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
        userInfo: coreServices.userInfo,
        scheduler: coreServices.scheduler,
        lifecycle: coreServices.lifecycle,
        catalog: catalogServiceRef,
      },
      async init(deps) {
        const { config, logger, database, scheduler, lifecycle } = deps;
        const engine = config.getOptionalConfig('runbooks.engine');
        const leaseMs =
          (engine?.getOptionalNumber('leaseSeconds') ?? 15) * 1000;
        const settings = {
          concurrency: engine?.getOptionalNumber('concurrency') ?? 20,
          leaseMs,
          heartbeatMs:
            (engine?.getOptionalNumber('heartbeatSeconds') ?? leaseMs / 5000) *
            1000,
          pollMs: engine?.getOptionalNumber('pollIntervalMs') ?? 1000,
          watchMs: engine?.getOptionalNumber('killSwitchCheckMs') ?? 250,
        };
        const duration = (key: string, fallback: string) =>
          parseDuration(engine?.getOptionalString(key) ?? fallback);

        const toolsConfig = readMcpToolsConfig(config);
        const pool = new McpToolPool(
          toolsConfig.servers,
          toolsConfig.settings,
          logger.child({ component: 'tools' }),
        );
        // tools from modules first: a module may deliberately serve a tool an MCP server also has
        const tools = new CompositeToolInvoker([...invokers, pool]);

        const store = await ExecutionStore.create({ database });
        const events = new ExecutionEvents(store);
        const workerId = `${hostname()}/${process.pid}/${randomUUID().slice(
          0,
          8,
        )}`;
        const runner = new ExecutionRunner({
          store,
          events,
          tools,
          blastRadius: stepDeclaredBlastRadius,
          logger,
          workerId,
          defaultStepTimeoutMs: duration('stepTimeout', '5m'),
        });
        const worker = new ExecutionWorker({
          store,
          runner,
          logger,
          workerId,
          settings,
        });
        const manager = new ExecutionManager({
          store,
          events,
          wake: () => worker.wake(),
          approvalTtlMs: duration('approvalTtl', '1h'),
        });

        await scheduler.scheduleTask({
          id: 'runbooks-requeue-expired-leases',
          frequency: { seconds: Math.max(1, Math.round(leaseMs / 2000)) },
          timeout: { seconds: 30 },
          fn: async () => {
            const ids = await store.requeueExpired();
            for (const id of ids) {
              await events.append(id, 'lease-expired', {});
            }
            if (ids.length > 0) worker.wake();
          },
        });
        lifecycle.addStartupHook(() => {
          pool.startHealthChecks();
          worker.start();
        });
        lifecycle.addShutdownHook(async () => {
          await worker.stop({ graceMs: duration('shutdownGrace', '10s') });
          await pool.close();
        });

        deps.httpRouter.use(
          await createRouter({
            logger,
            httpAuth: deps.httpAuth,
            userInfo: deps.userInfo,
            runbookCatalog: new RunbookCatalog(deps.catalog, logger, tools),
            toolServers: () => pool.statuses(),
            store,
            events,
            manager,
          }),
        );
      },
    });
  },
});
