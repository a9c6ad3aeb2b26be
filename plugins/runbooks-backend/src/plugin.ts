import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { actionsRegistryServiceRef } from '@backstage/backend-plugin-api/alpha';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import {
  parseDuration,
  runbooksPermissions,
} from '@runbooks/plugin-runbooks-common';
import {
  ConfigOnCallProvider,
  McpToolPool,
  OnCallProvider,
  runbooksOnCallExtensionPoint,
  runbooksPlannerExtensionPoint,
  readMcpToolsConfig,
  RunbookPlanner,
  runbooksToolsExtensionPoint,
  ToolInvoker,
} from '@runbooks/plugin-runbooks-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  ExecutionEvents,
  ExecutionManager,
  ExecutionRunner,
  ExecutionStore,
  ExecutionWorker,
} from './engine';
import {
  runbookExecutionResourceRef,
  runbookExecutionRules,
  RunbooksAuthorizer,
} from './permissions';
import { registerRunbooksActions } from './actions';
import { ApprovalEscalator, notificationsNotifier } from './approvals';
import {
  AgentService,
  AgentStore,
  AnthropicPlanner,
  AnthropicSummariser,
  anthropicClient,
  OfflinePlanner,
  readAgentConfig,
  TemplateSummariser,
} from './agent';
import {
  ProvenanceService,
  readProvenanceKeys,
  StatementRecorder,
} from './provenance';
import { RunbookCatalog } from './runbook';
import { createRouter } from './service';
import { CompositeToolInvoker } from './tools';
import {
  CatalogTopology,
  readBlastRadiusPolicy,
  TopologyBlastRadius,
} from './topology';
import { HealthStore, HealthSweep, RunbookHealthChecker } from './health';

/**
 * The runbooks backend plugin.
 * @public
 */
export const runbooksPlugin = createBackendPlugin({
  pluginId: 'runbooks',
  register(env) {
    const invokers: ToolInvoker[] = [];
    let onCallProvider: OnCallProvider | undefined;
    env.registerExtensionPoint(runbooksOnCallExtensionPoint, {
      setOnCallProvider(provider) {
        if (onCallProvider) {
          throw new Error('An on-call provider is already set for runbooks');
        }
        onCallProvider = provider;
      },
    });
    const planners: RunbookPlanner[] = [];
    env.registerExtensionPoint(runbooksPlannerExtensionPoint, {
      addPlanner(planner) {
        if (
          ['offline', 'anthropic', ...planners.map(p => p.id)].includes(
            planner.id,
          )
        ) {
          throw new Error(`A runbooks planner '${planner.id}' already exists`);
        }
        planners.push(planner);
      },
    });
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
        auth: coreServices.auth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        userInfo: coreServices.userInfo,
        scheduler: coreServices.scheduler,
        lifecycle: coreServices.lifecycle,
        catalog: catalogServiceRef,
        notifications: notificationService,
        actionsRegistry: actionsRegistryServiceRef,
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

        const workerId = `${hostname()}/${process.pid}/${randomUUID().slice(
          0,
          8,
        )}`;
        const keys = readProvenanceKeys(config, logger);
        const store = await ExecutionStore.create({
          database,
          // every step that ends and every execution that ends is signed in the same transaction
          provenance: new StatementRecorder(keys.signer, workerId),
        });
        const provenance = new ProvenanceService({
          store,
          trustedKeys: keys.trustedKeys,
          currentKeyHint: keys.signer.keyHint,
          keyless: !!keys.keyless,
        });
        deps.permissionsRegistry.addResourceType({
          resourceRef: runbookExecutionResourceRef,
          permissions: runbooksPermissions,
          rules: Object.values(runbookExecutionRules),
          getResources: refs =>
            Promise.all(
              refs.map(id => store.getExecution(id).catch(() => undefined)),
            ),
        });
        const authorizer = new RunbooksAuthorizer(
          deps.permissions,
          deps.permissionsRegistry.getPermissionRuleset(
            runbookExecutionResourceRef,
          ),
        );
        const events = new ExecutionEvents(store);
        // one topology and policy for the runner's gates and the runbook list's previews
        const blastRadius = new TopologyBlastRadius({
          topology: new CatalogTopology({
            catalog: deps.catalog,
            auth: deps.auth,
          }),
          policy: readBlastRadiusPolicy(config),
        });
        const runner = new ExecutionRunner({
          store,
          events,
          tools,
          blastRadius,
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
          approvalTtlMs: parseDuration(
            config.getOptionalString('runbooks.approvals.expiry') ?? '30m',
          ),
        });

        const onCall =
          onCallProvider ?? ConfigOnCallProvider.fromConfig(config);
        const escalator = new ApprovalEscalator({
          onCall,
          logger: logger.child({ component: 'escalation' }),
          listWaitingGates: async () =>
            (await store.listWaitingGates()).map(
              ({ execution, step, escalatedLevels }) => ({
                executionId: execution.id,
                stepIndex: step.stepIndex,
                stepId: step.stepId,
                attempt: step.attempt,
                entityRef: execution.entityRef,
                ownerRef: execution.entityOwner,
                runbookRef: execution.runbookRef,
                requester: execution.requester,
                requestedAt:
                  step.approvalRequestedAt ??
                  step.startedAt ??
                  execution.createdAt,
                notifiedLevels: escalatedLevels,
              }),
            ),
          notify: notificationsNotifier(
            deps.notifications,
            config.getOptionalString('app.baseUrl') ?? '',
          ),
          record: async (gate, level, delivery) => {
            const seq = await store.appendEvent(
              gate.executionId,
              'approval-escalated',
              {
                step: gate.stepIndex,
                stepId: gate.stepId,
                attempt: gate.attempt,
                level: level.level,
                users: level.users,
                delivered: delivery.delivered,
                error: delivery.error,
              },
            );
            events.notify(gate.executionId, seq);
          },
        });
        await scheduler.scheduleTask({
          id: 'runbooks-approval-escalation',
          frequency: {
            seconds:
              config.getOptionalNumber(
                'runbooks.approvals.escalationCheckSeconds',
              ) ?? 30,
          },
          timeout: { seconds: 60 },
          fn: async () => {
            // expired requests are planned afresh first: nobody is paged for a stale plan
            await manager.expireStaleApprovalRequests();
            await escalator.tick();
          },
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

        const agentConfig = readAgentConfig(config);
        const model = agentConfig.anthropic
          ? anthropicClient(agentConfig.anthropic)
          : undefined;
        const available: RunbookPlanner[] = [
          ...planners,
          new OfflinePlanner(),
          ...(agentConfig.anthropic
            ? [new AnthropicPlanner(agentConfig.anthropic, model)]
            : []),
        ];
        const plannerId =
          agentConfig.planner ??
          (agentConfig.anthropic ? 'anthropic' : 'offline');
        const planner = available.find(p => p.id === plannerId);
        if (!planner) {
          throw new Error(
            `runbooks.agent.planner is '${plannerId}', but the planners are ${available
              .map(p => p.id)
              .join(', ')}${
              plannerId === 'anthropic'
                ? ' (the Anthropic planner needs runbooks.agent.anthropic.apiKey)'
                : ''
            }`,
          );
        }
        logger.info(
          `Runbooks agent: planner '${planner.id}'${
            planner.id === 'anthropic'
              ? ` (model ${agentConfig.anthropic!.model})`
              : ''
          }, proposals ${
            agentConfig.settings.mode === 'dry-run'
              ? 'start as dry-runs'
              : 'wait for a person'
          }`,
        );
        const runbookCatalog = new RunbookCatalog(deps.catalog, logger, tools);

        // runbook health: each runbook checked against the system it acts on, read-only, on a
        // schedule (runbooks.health.intervalMinutes; 0 turns the schedule off)
        const healthConfig = config.getOptionalConfig('runbooks.health');
        const healthStore = new HealthStore(await database.getClient());
        const health = {
          store: healthStore,
          sweep: new HealthSweep({
            runbookCatalog,
            catalog: deps.catalog,
            auth: deps.auth,
            checker: new RunbookHealthChecker({
              tools,
              timeoutMs:
                (healthConfig?.getOptionalNumber('stepTimeoutSeconds') ?? 60) *
                1000,
            }),
            store: healthStore,
            logger,
            killSwitches: target => store.findEngagedKillSwitches(target),
          }),
        };
        const healthMinutes =
          healthConfig?.getOptionalNumber('intervalMinutes') ?? 60;
        if (healthMinutes > 0) {
          await scheduler.scheduleTask({
            id: 'runbooks-health-sweep',
            frequency: { minutes: healthMinutes },
            initialDelay: {
              seconds:
                healthConfig?.getOptionalNumber('initialDelaySeconds') ?? 30,
            },
            timeout: { minutes: Math.max(5, healthMinutes) },
            fn: async abortSignal => {
              const report = await health.sweep.sweep({}, abortSignal);
              logger.info(
                `Runbook health: ${report.pairs} runbook × entity pairs in ${report.durationMs} ms: ${report.healthy} healthy, ${report.drifted} drifted, ${report.unknown} unknown, ${report.held} held by a kill switch, ${report.failed} failed`,
              );
            },
          });
        }
        const agent = new AgentService({
          runbookCatalog,
          store,
          agentStore: await AgentStore.create({ database }),
          manager,
          events,
          authorizer,
          planner,
          summariser:
            agentConfig.anthropic && model
              ? new AnthropicSummariser(agentConfig.anthropic, model, e =>
                  logger.warn(`Summary by the model failed: ${e.message}`),
                )
              : new TemplateSummariser(),
          logger: logger.child({ component: 'agent' }),
          settings: agentConfig.settings,
        });

        // the same agent, permissions and gates for AI clients (through the MCP actions backend)
        registerRunbooksActions({
          actionsRegistry: deps.actionsRegistry,
          runbookCatalog,
          agent,
          store,
          authorizer,
          userInfo: deps.userInfo,
        });

        deps.httpRouter.use(
          await createRouter({
            logger,
            httpAuth: deps.httpAuth,
            userInfo: deps.userInfo,
            authorizer,
            onCall: ownerRef => onCall.getOnCall(ownerRef, new Date()),
            runbookCatalog,
            radiusPreview: (entityRef, runbooks, credentials) =>
              blastRadius.preview(entityRef, runbooks, credentials),
            toolServers: () => pool.statuses(),
            store,
            events,
            manager,
            provenance,
            health,
            agent: {
              service: agent,
              intake: agentConfig.intake,
              catalog: deps.catalog,
            },
          }),
        );
      },
    });
  },
});
