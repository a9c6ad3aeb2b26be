import { McpServerStatus } from '@runbooks/plugin-runbooks-node';
import { redactExecution, redactSteps } from './redact';
import {
  BackstageCredentials,
  BackstageServicePrincipal,
  BackstageUserPrincipal,
  HttpAuthService,
  LoggerService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { ResourcePermission } from '@backstage/plugin-permission-common';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  ApprovalGateResponse,
  ApprovalResponse,
  BlastRadius,
  EntityRunbooksResponse,
  EXECUTION_STATUS_VALUES,
  RunbookHealthResponse,
  ExecutionActionsResponse,
  executionApprovePermission,
  executionCancelPermission,
  executionReadPermission,
  KillSwitchListResponse,
  KillSwitchResponse,
  RUNBOOK_EXECUTION_RESOURCE_TYPE,
  RunbookEntityV1alpha1,
} from '@runbooks/plugin-runbooks-common';
import { OnCallSchedule } from '@runbooks/plugin-runbooks-node';
import { approvalRefusal, evaluateGate } from '../approvals';
import { RunbooksAuthorizer } from '../permissions';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import {
  Approval,
  Execution,
  ExecutionEvents,
  ExecutionManager,
  ExecutionStore,
  KillSwitch,
  StepRun,
  TERMINAL_STATUSES,
} from '../engine';
import { executionStats, weekStarts } from './stats';

const approval = (a: Approval): ApprovalResponse => ({
  stepIndex: a.stepIndex,
  attempt: a.attempt,
  planDigest: a.planDigest,
  decidedBy: a.decidedBy,
  decision: a.decision,
  comment: a.comment,
  ownerOf: a.ownerOf,
  createdAt: a.createdAt.toISOString(),
  expiresAt: a.expiresAt?.toISOString(),
});
import { fullRef, RunbookCatalog } from '../runbook';
import { HealthStore, HealthSweep } from '../health';
import {
  AgentCaller,
  AgentConfig,
  AgentService,
  alertmanagerIncidents,
  alertmanagerPayload,
  genericAlert,
  genericIncident,
  resolveIncidentEntity,
} from '../agent';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  csvLine,
  ProvenanceService,
  SUMMARY_COLUMNS,
  summaryRow,
} from '../provenance';

const killSwitch = (k: KillSwitch): KillSwitchResponse => ({
  id: k.id,
  scope: k.scope,
  target: k.target,
  reason: k.reason,
  engagedBy: k.engagedBy,
  engagedAt: k.engagedAt.toISOString(),
  releasedBy: k.releasedBy,
  releasedAt: k.releasedAt?.toISOString(),
});

/** The credentials of a person or a service calling the API. */
type CallerCredentials = BackstageCredentials<
  BackstageUserPrincipal | BackstageServicePrincipal
>;

/** Which executions the caller holds the approve and cancel permissions on. */
interface CallerMay {
  approve: (execution: Execution) => boolean;
  cancel: (execution: Execution) => boolean;
}

/** What the caller may do with an execution in its current state. */
function executionActions(
  execution: Execution,
  may: CallerMay,
): ExecutionActionsResponse {
  const attention = execution.status === 'needs-attention';
  return {
    cancel:
      !TERMINAL_STATUSES.includes(execution.status) && may.cancel(execution),
    resume: attention && may.approve(execution),
    skip: attention && may.approve(execution),
    abort: attention && may.cancel(execution),
  };
}

/** The most executions the approvals inbox lists. */
const INBOX_LIMIT = 200;

/** What the router needs. */
export interface RouterOptions {
  logger: LoggerService;
  httpAuth: HttpAuthService;
  userInfo: UserInfoService;
  authorizer: RunbooksAuthorizer;
  /** Who is on call for an entity's owner now, shown to requesters of a waiting execution. */
  onCall?: (entityOwner: string) => Promise<OnCallSchedule | undefined>;
  runbookCatalog: RunbookCatalog;
  store: ExecutionStore;
  events: ExecutionEvents;
  manager: ExecutionManager;
  /** How often an event stream looks for events written by other replicas. */
  streamPollMs?: number;
  /** The state of the configured MCP tool servers, for `GET /tools`. */
  toolServers?: () => McpServerStatus[];
  /** Verifies signed records and serves them for export. */
  provenance: ProvenanceService;
  /**
   * The blast radius of each mutating runbook's strictest step on an entity before any plan, keyed
   * by runbook ref, for `GET /entities/:kind/:namespace/:name/runbooks`. Rejects when the catalog
   * graph cannot be read; the list is then served without previews.
   */
  radiusPreview?: (
    entityRef: string,
    runbooks: RunbookEntityV1alpha1[],
    /** The caller's: the preview shows only the entities they may read in the catalog. */
    credentials: BackstageCredentials,
  ) => Promise<Map<string, BlastRadius>>;
  /** Runbook health: the last checks, and a check of one entity's runbooks now. */
  health?: { store: HealthStore; sweep: HealthSweep };
  /** The agent, its intake settings and the catalog to resolve alerts to entities. */
  agent: {
    service: AgentService;
    intake: AgentConfig['intake'];
    catalog: CatalogService;
  };
}

const entityParams = z.object({
  kind: z.string().min(1),
  namespace: z.string().min(1),
  name: z.string().min(1),
});

const createBody = z
  .object({
    runbookRef: z.string().min(1),
    entityRef: z.string().min(1),
    parameters: z.record(z.string(), z.unknown()).default({}),
    mode: z.enum(['dry-run', 'execute']).default('dry-run'),
  })
  .strict();

const listQuery = z
  .object({
    entityRef: z.string().optional(),
    runbookRef: z.string().optional(),
    requester: z.string().optional(),
    status: z
      .string()
      .transform(s => s.split(',').filter(Boolean))
      .pipe(z.array(z.enum(EXECUTION_STATUS_VALUES)))
      .optional(),
    createdAfter: z.coerce.date().optional(),
    createdBefore: z.coerce.date().optional(),
    cursor: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
  })
  .strict();

const ENTITY_REF = 'must be an entity ref such as component:default/checkout';
/** An entity ref in the form executions store it: `checkout` is component:default/checkout. */
const storedEntityRef = z
  .string(ENTITY_REF)
  .min(1, ENTITY_REF)
  .transform((ref, ctx) => {
    try {
      return fullRef(ref, 'component');
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const exportQuery = z
  .object({
    from: z.coerce.date(),
    to: z.coerce.date(),
    entityRef: storedEntityRef.optional(),
  })
  .strict()
  .refine(q => q.from < q.to, { message: 'from must be before to' });

const WEEKS = 'must be a whole number from 1 to 52';
const statsQuery = z
  .object({
    entityRef: storedEntityRef,
    weeks: z.coerce
      .number(WEEKS)
      .int(WEEKS)
      .min(1, WEEKS)
      .max(52, WEEKS)
      .default(12),
  })
  .strict();

const decisionBody = z
  .object({
    decision: z.enum(['approved', 'rejected']),
    planDigest: z.string().min(1),
    comment: z.string().max(2000).optional(),
    scope: z.enum(['step', 'remaining']).default('step'),
  })
  .strict();

const askBody = z
  .object({
    text: z.string().trim().min(3).max(20_000),
    logs: z.array(z.string().max(100_000)).max(20).optional(),
  })
  .strict();

const startProposalBody = z
  .object({ mode: z.enum(['dry-run', 'execute']).default('dry-run') })
  .strict();

const proposalsQuery = z
  .object({
    entityRef: z.string().min(1),
    status: z
      .string()
      .transform(s => s.split(',').filter(Boolean))
      .pipe(z.array(z.enum(['pending', 'started', 'dismissed', 'refused'])))
      .optional(),
  })
  .strict();

const healthQuery = z.object({ entityRef: storedEntityRef }).strict();

const killSwitchBody = z
  .object({
    scope: z.enum(['global', 'entity', 'runbook', 'execution']),
    target: z.string().min(1).optional(),
    reason: z.string().min(3).max(2000),
  })
  .strict()
  .transform((body, ctx) => {
    // stored as executions store their refs, so the switch matches them: checkout is
    // component:default/checkout, restart-deployment is runbook:default/restart-deployment
    if (!body.target || (body.scope !== 'entity' && body.scope !== 'runbook')) {
      return body;
    }
    try {
      const kind = body.scope === 'entity' ? 'component' : 'runbook';
      return { ...body, target: fullRef(body.target, kind, 'target') };
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: (e as Error).message,
      });
      return z.NEVER;
    }
  });

async function parse<T>(
  schema: z.ZodType<T>,
  value: unknown,
  what: string,
): Promise<T> {
  return schema.parseAsync(value).catch((e: z.ZodError) => {
    throw new InputError(
      `Invalid ${what}: ${e.issues
        .map(i => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  });
}

/** The runbooks plugin's HTTP API. */
export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const {
    httpAuth,
    userInfo,
    authorizer,
    runbookCatalog,
    store,
    events,
    manager,
  } = options;
  const streamPollMs = options.streamPollMs ?? 500;
  const router = Router();
  // incidents carry alert text and logs: room for them, within what the schemas accept
  router.use(express.json({ limit: '2mb' }));

  const user = async (req: express.Request) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const info = await userInfo.getUserInfo(credentials);
    return {
      credentials,
      userRef: info.userEntityRef,
      claims: info.ownershipEntityRefs,
    };
  };
  const reader = (req: express.Request) =>
    httpAuth.credentials(req, { allow: ['user', 'service'] });

  /**
   * Health findings quote what tools read (objects, error texts), like an execution's record: in
   * full for those who may run runbooks on the entity or read every execution; the status, counts
   * and time for other readers of the entity.
   */
  const mayReadHealthDetails = async (
    credentials: BackstageCredentials,
    entityRef: string,
  ) =>
    (await authorizer.visibleExecutions(credentials)).kind === 'all' ||
    (await authorizer.canExecute(credentials, entityRef));
  const healthFor = (
    health: RunbookHealthResponse,
    details: boolean,
  ): RunbookHealthResponse =>
    details
      ? health
      : {
          ...health,
          findings: health.findings.map(f => ({
            kind: f.kind,
            stepId: f.stepId,
            message: 'Details are for those who may run runbooks here.',
          })),
          skipped: [],
        };

  router.get('/tools', async (req, res) => {
    await reader(req);
    res.json({ servers: options.toolServers?.() ?? [] });
  });

  router.get('/entities/:kind/:namespace/:name/runbooks', async (req, res) => {
    const credentials = await reader(req);
    const params = await parse(entityParams, req.params, 'entity reference');
    const { entity, items, runbooks } = await runbookCatalog.listForEntity(
      stringifyEntityRef(params),
      credentials,
    );
    const entityRef = stringifyEntityRef(entity);
    const previews = await options
      .radiusPreview?.(entityRef, runbooks, credentials)
      .catch(e => {
        options.logger.warn(
          `Blast-radius preview for ${entityRef} failed: ${e}`,
        );
        return undefined;
      });
    const details = await mayReadHealthDetails(credentials, entityRef);
    const health = new Map(
      (
        (await options.health?.store.list({ entityRef }).catch(e => {
          options.logger.warn(`Runbook health for ${entityRef}: ${e}`);
          return undefined;
        })) ?? []
      ).map(h => [h.runbookRef, healthFor(h, details)]),
    );
    const body: EntityRunbooksResponse = {
      entityRef,
      items: items.map(item => {
        const radiusPreview = previews?.get(item.ref);
        const checked = health.get(item.ref);
        return {
          ...item,
          ...(radiusPreview ? { radiusPreview } : {}),
          ...(checked ? { health: checked } : {}),
        };
      }),
      canExecute: await authorizer.canExecute(credentials, entityRef),
    };
    res.json(body);
  });

  router.get('/health', async (req, res) => {
    const credentials = await reader(req);
    const query = await parse(healthQuery, req.query, 'query');
    // the caller must be able to read the entity and the runbooks in the catalog
    const { entity, items } = await runbookCatalog.listForEntity(
      query.entityRef,
      credentials,
    );
    const entityRef = stringifyEntityRef(entity);
    const visible = new Set(items.map(i => i.ref));
    const details = await mayReadHealthDetails(credentials, entityRef);
    res.json({
      items: ((await options.health?.store.list({ entityRef })) ?? [])
        .filter(h => visible.has(h.runbookRef))
        .map(h => healthFor(h, details)),
    });
  });

  router.post(
    '/entities/:kind/:namespace/:name/health/check',
    async (req, res) => {
      const { credentials } = await user(req);
      const params = await parse(entityParams, req.params, 'entity reference');
      const entity = await runbookCatalog.getEntity(
        stringifyEntityRef(params),
        credentials,
      );
      const entityRef = stringifyEntityRef(entity);
      // it calls the entity's tools (reads and dry-runs): for those who may run runbooks there
      await authorizer.assertCanExecute(credentials, entityRef);
      if (!options.health) {
        throw new NotFoundError('Runbook health checks are not configured');
      }
      // only the runbooks this person can see in the catalog
      const { items } = await runbookCatalog.listForEntity(
        entityRef,
        credentials,
      );
      const report = await options.health.sweep.sweep({
        entityRef,
        runbookRefs: items.map(i => i.ref),
      });
      res.json({ items: report.results });
    },
  );

  router.post('/executions', async (req, res) => {
    const { credentials, userRef } = await user(req);
    const body = await parse(createBody, req.body, 'execution request');
    await authorizer.assertCanExecute(credentials, body.entityRef);
    const resolved = await runbookCatalog.resolveRequest(body, credentials);
    const execution = await manager.create({
      ...resolved,
      requester: userRef,
      mode: body.mode,
    });
    res.status(201).json(redactExecution(execution));
  });

  router.get('/executions', async (req, res) => {
    const credentials = await reader(req);
    const query = await parse(listQuery, req.query, 'query');
    const visible = await authorizer.visibleExecutions(credentials);
    if (visible.kind === 'none') {
      res.json({ items: [] });
      return;
    }
    const page = await store.listExecutions(query, {
      cursor: query.cursor,
      limit: query.limit,
      visible: visible.kind === 'some' ? visible.criteria : undefined,
    });
    res.json({ ...page, items: page.items.map(redactExecution) });
  });

  /** The execution, once the caller is known to hold `permission` on it. */
  const permitted = async (
    credentials: BackstageCredentials,
    id: string,
    permission: ResourcePermission<typeof RUNBOOK_EXECUTION_RESOURCE_TYPE>,
    what: string,
  ) => {
    const execution = await store.getExecution(id);
    await authorizer.assert(credentials, permission, execution, what);
    return execution;
  };

  /** Which executions the caller may approve and cancel: nothing for services, which act for nobody. */
  const callerMay = async (
    credentials: CallerCredentials,
  ): Promise<CallerMay> => {
    if (credentials.principal.type !== 'user') {
      return { approve: () => false, cancel: () => false };
    }
    const [approve, cancel] = await Promise.all([
      authorizer.allowedExecutions(credentials, executionApprovePermission),
      authorizer.allowedExecutions(credentials, executionCancelPermission),
    ]);
    return { approve, cancel };
  };

  /** Who is on call for entity owners, each owner looked up once. */
  const onCallLookup = () => {
    const found = new Map<
      string,
      ReturnType<NonNullable<RouterOptions['onCall']>>
    >();
    return (owner: string | undefined) => {
      if (!owner || !options.onCall) return Promise.resolve(undefined);
      if (!found.has(owner)) {
        found.set(
          owner,
          options.onCall(owner).catch(e => {
            options.logger.warn(`On-call lookup for ${owner} failed: ${e}`);
            return undefined;
          }),
        );
      }
      return found.get(owner)!;
    };
  };

  /** The approval gate an execution waits at on step `waiting`, as the caller sees it. */
  const gateOf = async (
    credentials: CallerCredentials,
    execution: Execution,
    waiting: StepRun,
    may: CallerMay,
    onCall: ReturnType<typeof onCallLookup>,
  ): Promise<ApprovalGateResponse & { cannotApprove?: string }> => {
    const gate = evaluateGate({
      radius: waiting.blastRadius,
      approvals: await store.listApprovals(execution.id, waiting.stepIndex),
      requester: execution.requester,
      planDigest: waiting.planDigest,
      attempt: waiting.attempt,
      now: new Date(),
    });
    let cannotApprove: string | undefined;
    if (credentials.principal.type !== 'user') {
      cannotApprove = 'Only people approve.';
    } else {
      cannotApprove =
        approvalRefusal(gate, {
          caller: credentials.principal.userEntityRef,
          requester: execution.requester,
          claims: (await userInfo.getUserInfo(credentials)).ownershipEntityRefs,
        }) ??
        (may.approve(execution)
          ? undefined
          : 'You may not approve executions of this entity.');
    }
    return {
      stepIndex: waiting.stepIndex,
      stepId: waiting.stepId,
      planDigest: waiting.planDigest!,
      requestedAt: waiting.approvalRequestedAt?.toISOString(),
      expiresAt: manager.approvalExpiresAt(execution, waiting).toISOString(),
      required: gate.required,
      approvals: gate.counted.map(approval),
      ownerApprovalFrom: gate.ownerApprovalFrom,
      missing: gate.missing,
      onCall: (await onCall(execution.entityOwner))?.levels,
      canApprove: !cannotApprove,
      cannotApprove,
    };
  };

  router.get('/approvals', async (req, res) => {
    const { credentials, userRef } = await user(req);
    const visible = await authorizer.visibleExecutions(credentials);
    if (visible.kind === 'none') {
      res.json({ items: [] });
      return;
    }
    const may = await callerMay(credentials);
    const requestedAt = (g: { execution: Execution; step: StepRun }) =>
      manager.approvalRequestedAt(g.execution, g.step).getTime();
    // the caller's own requests too: they follow them, and learn why they cannot approve them
    const waiting = (
      await store.listWaitingGates({
        visible: visible.kind === 'some' ? visible.criteria : undefined,
      })
    )
      .filter(
        ({ execution }) =>
          execution.requester === userRef || may.approve(execution),
      )
      .sort((a, b) => requestedAt(a) - requestedAt(b))
      .slice(0, INBOX_LIMIT);
    const onCall = onCallLookup();
    // one read of the health checks per entity
    const healthByEntity = new Map<string, Promise<RunbookHealthResponse[]>>();
    const healthOf = (entityRef: string) => {
      if (!healthByEntity.has(entityRef)) {
        healthByEntity.set(
          entityRef,
          options.health?.store.list({ entityRef }).catch(() => []) ??
            Promise.resolve([]),
        );
      }
      return healthByEntity.get(entityRef)!;
    };
    const items = await Promise.all(
      waiting.map(async ({ execution, step }) => {
        const gate = await gateOf(credentials, execution, step, may, onCall);
        const health = (await healthOf(execution.entityRef)).find(
          h => h.runbookRef === execution.runbookRef,
        );
        return {
          execution: redactExecution(execution),
          step: redactSteps(execution, [step])[0],
          gate,
          cannotApprove: gate.cannotApprove,
          ...(health ? { health } : {}),
        };
      }),
    );
    // dates become ISO strings in JSON: the shape of ApprovalInboxResponse
    res.json({ items });
  });

  // before /executions/:id, which would take `stats` for an id
  router.get('/executions/stats', async (req, res) => {
    const credentials = await reader(req);
    const query = await parse(statsQuery, req.query, 'query');
    const starts = weekStarts(new Date(), query.weeks);
    const visible = await authorizer.visibleExecutions(credentials);
    const tally =
      visible.kind === 'none'
        ? {
            counts: [],
            durations: [],
            newest: [],
            attention: [],
            rejected: [],
            failedSteps: [],
          }
        : await store.tallyExecutions(query.entityRef, starts, {
            visible: visible.kind === 'some' ? visible.criteria : undefined,
          });
    res.json(executionStats(query.entityRef, starts, tally));
  });

  router.get('/executions/:id', async (req, res) => {
    const credentials = await reader(req);
    await permitted(
      credentials,
      req.params.id,
      executionReadPermission,
      'read',
    );
    const details = await manager.get(req.params.id);
    const { execution, steps } = details;
    const { provenance } = options;
    const waiting = steps[execution.currentStep];
    const may = await callerMay(credentials);
    // dates become ISO strings in JSON: the shape of ExecutionDetailsResponse
    const body: Record<string, unknown> & { gate?: ApprovalGateResponse } = {
      execution: redactExecution(execution),
      steps: redactSteps(execution, steps),
      events: await store.listEvents(req.params.id),
      approvals: (await store.listApprovals(req.params.id)).map(approval),
      provenance: await provenance.badge(execution),
      actions: executionActions(execution, may),
    };
    if (
      execution.status === 'waiting-approval' &&
      waiting?.status === 'waiting-approval'
    ) {
      body.gate = await gateOf(
        credentials,
        execution,
        waiting,
        may,
        onCallLookup(),
      );
    }
    res.json(body);
  });

  router.get('/executions/:id/provenance', async (req, res) => {
    const credentials = await reader(req);
    const execution = await permitted(
      credentials,
      req.params.id,
      executionReadPermission,
      'read',
    );
    res.json(await options.provenance.verify(execution));
  });

  router.get('/executions/:id/bundles', async (req, res) => {
    const credentials = await reader(req);
    const execution = await permitted(
      credentials,
      req.params.id,
      executionReadPermission,
      'read',
    );
    const bundles = await options.provenance.bundles(execution.id);
    res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
    res.setHeader(
      'content-disposition',
      `attachment; filename="execution-${execution.id}.jsonl"`,
    );
    res.send(bundles.map(b => `${b}\n`).join(''));
  });

  router.get('/provenance/keys', async (req, res) => {
    await reader(req);
    res.json(options.provenance.keys());
  });

  /**
   * The audit export, a page of ended executions at a time so any range streams: the bundles of
   * every execution the caller may read that finished in [from, to), as JSONL, or the CSV summary.
   */
  const auditExport = (format: 'jsonl' | 'csv') =>
    router.get(
      `/audit/${format === 'jsonl' ? 'bundles' : 'summary'}`,
      async (req, res) => {
        const credentials = await reader(req);
        const query = await parse(exportQuery, req.query, 'export range');
        const visible = await authorizer.visibleExecutions(credentials);
        const name = `runbooks-audit-${query.from.toISOString()}-${query.to.toISOString()}`;
        res.setHeader(
          'content-type',
          format === 'jsonl'
            ? 'application/x-ndjson; charset=utf-8'
            : 'text/csv; charset=utf-8',
        );
        res.setHeader(
          'content-disposition',
          `attachment; filename="${name}.${format}"`,
        );
        if (format === 'csv') res.write(csvLine([...SUMMARY_COLUMNS]));
        if (visible.kind === 'none') {
          res.end();
          return;
        }
        let cursor: string | undefined;
        do {
          const page = await store.listFinished(query, {
            cursor,
            limit: 200,
            visible: visible.kind === 'some' ? visible.criteria : undefined,
          });
          for (const execution of page.items) {
            const bundles = await options.provenance.bundles(execution.id);
            const chunk =
              format === 'jsonl'
                ? bundles.map(b => `${b}\n`).join('')
                : await summaryRow(store, execution, bundles.length);
            if (!res.write(chunk)) {
              await new Promise(resolve => res.once('drain', resolve));
            }
          }
          cursor = page.nextCursor;
        } while (cursor);
        res.end();
      },
    );
  auditExport('jsonl');
  auditExport('csv');

  router.get('/executions/:id/events', async (req, res) => {
    const credentials = await reader(req);
    const id = req.params.id;
    await permitted(credentials, id, executionReadPermission, 'read');
    const resumeFrom = req.header('last-event-id') ?? req.query.after ?? '0';
    let last = Number(resumeFrom);
    if (!Number.isInteger(last) || last < 0) {
      throw new InputError(`Invalid Last-Event-ID '${resumeFrom}'`);
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      // no-transform: the backend's compression middleware would otherwise hold events back
      // until its buffer fills, and a watcher would see them only when the stream ends
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(': stream of execution events\n\n');

    let closed = false;
    let wake: (() => void) | undefined;
    // local events wake the stream at once; other replicas' events are found by polling
    const sleep = () =>
      new Promise<void>(resolve => {
        wake = resolve;
        setTimeout(resolve, streamPollMs);
      });
    const unsubscribe = events.subscribe(id, () => wake?.());
    req.on('close', () => {
      closed = true;
      wake?.();
    });
    let idle = 0;
    try {
      while (!closed) {
        const batch = await store.listEvents(id, last);
        for (const event of batch) {
          res.write(
            `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(
              event,
            )}\n\n`,
          );
          last = event.seq;
        }
        if (batch.length === 0) {
          const execution = await store.getExecution(id);
          if (TERMINAL_STATUSES.includes(execution.status)) break;
        }
        await sleep();
        idle = batch.length === 0 ? idle + streamPollMs : 0;
        if (idle >= 15_000) {
          res.write(': keep-alive\n\n');
          idle = 0;
        }
      }
    } finally {
      unsubscribe();
      res.end();
    }
  });

  router.post('/executions/:id/cancel', async (req, res) => {
    const { credentials, userRef } = await user(req);
    await permitted(
      credentials,
      req.params.id,
      executionCancelPermission,
      'cancel',
    );
    res.json(redactExecution(await manager.cancel(req.params.id, userRef)));
  });

  router.post('/executions/:id/steps/:index/decision', async (req, res) => {
    const { credentials, userRef, claims } = await user(req);
    const body = await parse(decisionBody, req.body, 'decision');
    const stepIndex = Number(req.params.index);
    if (!Number.isInteger(stepIndex) || stepIndex < 0) {
      throw new InputError(`Invalid step index '${req.params.index}'`);
    }
    // asked of the policy now, at decision time: a revoked permission takes effect at once
    await permitted(
      credentials,
      req.params.id,
      executionApprovePermission,
      'decide on',
    );
    res.json(
      redactExecution(
        await manager.decide({
          id: req.params.id,
          stepIndex,
          planDigest: body.planDigest,
          decision: body.decision,
          comment: body.comment,
          scope: body.scope,
          decidedBy: userRef,
          claims,
        }),
      ),
    );
  });

  for (const action of ['resume', 'skip', 'abort'] as const) {
    router.post(`/executions/:id/${action}`, async (req, res) => {
      const { credentials, userRef } = await user(req);
      // abort ends the execution like a cancel; resume and skip decide how a change goes on
      await permitted(
        credentials,
        req.params.id,
        action === 'abort'
          ? executionCancelPermission
          : executionApprovePermission,
        action,
      );
      res.json(
        redactExecution(
          await manager.resolveAttention(req.params.id, action, userRef),
        ),
      );
    });
  }

  /** Who submits an incident: a person, or a service such as Alertmanager (static token). */
  const caller = async (req: express.Request): Promise<AgentCaller> => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    if (credentials.principal.type === 'user') {
      const info = await userInfo.getUserInfo(credentials);
      return { credentials, ref: info.userEntityRef, isUser: true };
    }
    return {
      credentials,
      ref: `service:${(credentials.principal as { subject: string }).subject}`,
      isUser: false,
    };
  };
  const { agent } = options;

  router.post('/incidents/alertmanager', async (req, res) => {
    const who = await caller(req);
    const payload = await parse(
      alertmanagerPayload,
      req.body,
      'Alertmanager webhook payload',
    );
    const incidents = [];
    for (const { incident, dedupeKey } of alertmanagerIncidents(payload)) {
      const target = await resolveIncidentEntity(
        incident,
        undefined,
        agent.intake,
        agent.catalog,
        who.credentials,
      );
      incidents.push(
        await agent.service.handleIncident(
          incident,
          { ...target, dedupeKey },
          who,
        ),
      );
    }
    res.status(201).json({ incidents });
  });

  router.post('/incidents', async (req, res) => {
    const who = await caller(req);
    const alert = await parse(genericAlert, req.body, 'alert');
    const incident = genericIncident(alert);
    const target = await resolveIncidentEntity(
      incident,
      alert.entityRef,
      agent.intake,
      agent.catalog,
      who.credentials,
    );
    res
      .status(201)
      .json(await agent.service.handleIncident(incident, target, who));
  });

  router.post('/entities/:kind/:namespace/:name/ask', async (req, res) => {
    const who = await caller(req);
    if (!who.isUser)
      throw new NotAllowedError('Asking the agent is for people');
    const params = await parse(entityParams, req.params, 'entity reference');
    const body = await parse(askBody, req.body, 'question');
    const entity = await runbookCatalog.getEntity(
      stringifyEntityRef(params),
      who.credentials,
    );
    res
      .status(201)
      .json(
        await agent.service.handleIncident(
          { source: 'ask', text: body.text, logs: body.logs },
          { entityRef: stringifyEntityRef(entity) },
          who,
        ),
      );
  });

  router.get('/proposals', async (req, res) => {
    const who = await caller(req);
    const query = await parse(proposalsQuery, req.query, 'query');
    const items = await agent.service.listProposals(
      query.entityRef,
      who,
      query.status,
    );
    res.json({ items });
  });

  router.post('/proposals/:id/start', async (req, res) => {
    const who = await caller(req);
    const body = await parse(startProposalBody, req.body ?? {}, 'request');
    const { execution } = await agent.service.startProposal(
      req.params.id,
      body.mode,
      who,
    );
    res.status(201).json(execution);
  });

  router.post('/proposals/:id/dismiss', async (req, res) => {
    const who = await caller(req);
    res.json(await agent.service.dismissProposal(req.params.id, who));
  });

  router.get('/executions/:id/summary', async (req, res) => {
    const credentials = await reader(req);
    const execution = await permitted(
      credentials,
      req.params.id,
      executionReadPermission,
      'read',
    );
    res.json(await agent.service.summary(execution));
  });

  router.get('/kill-switches', async (req, res) => {
    const credentials = await reader(req);
    const body: KillSwitchListResponse = {
      items: (
        await store.listKillSwitches({
          includeReleased: req.query.includeReleased === 'true',
        })
      ).map(killSwitch),
      // engaging and releasing are for people
      canManage:
        credentials.principal.type === 'user' &&
        (await authorizer.canManageKillSwitches(credentials)),
    };
    res.json(body);
  });

  router.post('/kill-switches', async (req, res) => {
    const { credentials, userRef } = await user(req);
    await authorizer.assertCanManageKillSwitches(credentials);
    const body = await parse(killSwitchBody, req.body, 'kill switch');
    res
      .status(201)
      .json(
        killSwitch(await manager.engageKillSwitch({ ...body, by: userRef })),
      );
  });

  router.post('/kill-switches/:id/release', async (req, res) => {
    const { credentials, userRef } = await user(req);
    await authorizer.assertCanManageKillSwitches(credentials);
    res.json(
      killSwitch(await manager.releaseKillSwitch(req.params.id, userRef)),
    );
  });

  return router;
}
