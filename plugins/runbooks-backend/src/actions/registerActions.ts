import {
  BackstageCredentials,
  BackstageNonePrincipal,
  BackstageServicePrincipal,
  BackstageUserPrincipal,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { ActionsRegistryService } from '@backstage/backend-plugin-api/alpha';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import {
  EXECUTION_STATUS_VALUES,
  executionReadPermission,
} from '@runbooks/plugin-runbooks-common';
import { AgentCaller, AgentService } from '../agent';
import { ExecutionStore } from '../engine';
import { RunbooksAuthorizer } from '../permissions';
import { fullRef, RunbookCatalog } from '../runbook';
import { redactExecution, redactSteps } from '../service/redact';

/** What the runbooks actions need: the same services the REST API uses. */
export interface RunbooksActionsOptions {
  actionsRegistry: ActionsRegistryService;
  runbookCatalog: RunbookCatalog;
  agent: AgentService;
  store: ExecutionStore;
  authorizer: RunbooksAuthorizer;
  userInfo: UserInfoService;
}

const STEP_STATUSES = [
  'pending',
  'running',
  'waiting-approval',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
  'needs-attention',
] as const;

/** An entity reference in its full form (`component:default/checkout`), or InputError. */
const fullEntityRef = (ref: string) => fullRef(ref, 'component');

/** The `entityRef` input of the actions, with the words an AI client reads. */
const entityRefInput = (z: typeof import('zod/v3').z) =>
  z
    .string()
    .min(1)
    .describe(
      'The catalog entity, as kind:namespace/name (e.g. component:default/checkout)',
    );

/** Who calls an action: a person, or a service (e.g. an MCP client with a static token). */
async function callerOf(
  credentials: BackstageCredentials,
  userInfo: UserInfoService,
): Promise<AgentCaller> {
  const principal = credentials.principal as
    | BackstageUserPrincipal
    | BackstageServicePrincipal
    | BackstageNonePrincipal;
  if (principal.type === 'user') {
    const info = await userInfo.getUserInfo(credentials);
    return { credentials, ref: info.userEntityRef, isUser: true };
  }
  if (principal.type === 'service') {
    return {
      credentials,
      ref: `service:${principal.subject}`,
      isUser: false,
    };
  }
  throw new NotAllowedError('Proposing a runbook execution needs a caller');
}

/**
 * Registers the runbooks actions with the actions registry, for external AI clients (through
 * the MCP actions backend): list the runbooks of an entity, propose an execution, read an
 * execution's status. They go through the same permission checks and gates as the REST API,
 * and none can run a runbook for real.
 */
export function registerRunbooksActions(options: RunbooksActionsOptions): void {
  const { actionsRegistry, runbookCatalog, agent, store, authorizer } = options;

  actionsRegistry.register({
    name: 'list-runbooks-for-entity',
    title: 'List runbooks for an entity',
    description: `Lists the runbooks that apply to a catalog entity (a service, for example), with the JSON Schema of each runbook's parameters, how many of its steps change something and when those wait for a person's approval.
Use it before propose-runbook-execution: a proposal must name one of these runbooks, for the same entity, with parameters that satisfy its parametersSchema.`,
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          entityRef: entityRefInput(z),
        }),
      output: z =>
        z.object({
          entityRef: z.string().describe('The entity, in full form'),
          canExecute: z
            .boolean()
            .describe(
              'Whether you may request executions on this entity (runbooks.runbook.execute). Even then, a proposal waits for a person.',
            ),
          runbooks: z.array(
            z.object({
              ref: z
                .string()
                .describe(
                  'The runbook, e.g. runbook:default/restart-deployment',
                ),
              title: z.string(),
              description: z.string().optional(),
              parametersSchema: z
                .record(z.unknown())
                .describe(
                  'JSON Schema of the parameters, with defaults resolved from the entity',
                ),
              mutatingSteps: z
                .number()
                .describe('How many steps change something'),
              approval: z
                .enum(['none', 'blast-radius', 'always'])
                .describe(
                  'When mutating steps wait for approval: never, when the blast radius asks for it, or always',
                ),
              toolProblems: z
                .number()
                .describe(
                  'Steps the configured tools cannot run; a runbook with problems cannot run and is refused',
                ),
            }),
          ),
        }),
    },
    action: async ({ input, credentials }) => {
      const { entity, items } = await runbookCatalog.listForEntity(
        fullEntityRef(input.entityRef),
        credentials,
      );
      const entityRef = stringifyEntityRef(entity);
      return {
        output: {
          entityRef,
          canExecute: await authorizer.canExecute(credentials, entityRef),
          runbooks: items.map(item => ({
            ref: item.ref,
            title: item.title ?? item.name,
            description: item.description,
            parametersSchema: item.parametersSchema as Record<string, unknown>,
            mutatingSteps: item.mutatingSteps,
            approval: item.approval,
            toolProblems: item.toolProblems.length,
          })),
        },
      };
    },
  });

  actionsRegistry.register({
    name: 'propose-runbook-execution',
    title: 'Propose a runbook execution',
    description: `Proposes running one runbook against one entity, with parameters and the reason. The proposal is validated like a person's request (the runbook applies to the entity, the parameters satisfy its schema, no kill switch is engaged, and a person proposing must be allowed to run runbooks on the entity); a proposal that fails is recorded as refused, with the reason.
This never runs anything for real: a valid proposal waits on the entity's Runbooks tab in the portal until a person starts it, or, where the portal is configured so, starts as a dry-run that changes nothing. Secret parameters cannot be proposed. Follow a started one with get-execution-status.`,
    attributes: { readOnly: false, destructive: false, idempotent: false },
    schema: {
      input: z =>
        z.object({
          entityRef: entityRefInput(z),
          runbookRef: z
            .string()
            .min(1)
            .describe(
              'A runbook listed by list-runbooks-for-entity for this entity, e.g. runbook:default/restart-deployment',
            ),
          parameters: z
            .record(z.unknown())
            .default({})
            .describe(
              "The runbook's parameters, as its parametersSchema describes them; defaults apply to those left out",
            ),
          rationale: z
            .string()
            .min(1)
            .describe(
              'Why this runbook, for the person who decides (shown to them as text)',
            ),
        }),
      output: z =>
        z.object({
          proposalId: z.string(),
          status: z
            .enum(['pending', 'started', 'refused', 'dismissed'])
            .describe(
              'pending: waits for a person; started: running as a dry-run; refused: see refusal',
            ),
          refusal: z.string().optional().describe('Why it was refused'),
          executionId: z
            .string()
            .optional()
            .describe('The dry-run execution it became, when started'),
          message: z.string().describe('What happens next'),
        }),
    },
    action: async ({ input, credentials, logger }) => {
      const caller = await callerOf(credentials, options.userInfo);
      const incident = await agent.submitProposal(
        {
          runbookRef: input.runbookRef,
          entityRef: fullEntityRef(input.entityRef),
          parameters: input.parameters,
          rationale: input.rationale,
        },
        caller,
        'actions',
      );
      const [proposal] = incident.proposals;
      if (!proposal) {
        throw new Error(`Incident ${incident.id} recorded no proposal`);
      }
      logger.info('Runbook execution proposed through the actions registry', {
        proposalId: proposal.id,
        status: proposal.status,
        by: caller.ref,
      });
      let message: string;
      if (proposal.status === 'started') {
        message = `Started as dry-run execution ${proposal.executionId}: it changes nothing. Running it for real is for a person to decide in the portal.`;
      } else if (proposal.status === 'pending') {
        message = `Nothing has run. The proposal waits on the Runbooks tab of ${proposal.entityRef} in the portal: a person who may run runbooks there must start it.`;
      } else {
        message = `Nothing has run: the proposal was refused (${proposal.refusal}).`;
      }
      return {
        output: {
          proposalId: proposal.id,
          status: proposal.status,
          refusal: proposal.refusal,
          executionId: proposal.executionId,
          message,
        },
      };
    },
  });

  actionsRegistry.register({
    name: 'get-execution-status',
    title: 'Get a runbook execution status',
    description:
      "Reads the status of a runbook execution you may read: its overall status, each step's status and error, and a written summary of what happened so far. Values of secret parameters are masked.",
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          executionId: z.string().min(1).describe('The execution id'),
        }),
      output: z =>
        z.object({
          executionId: z.string(),
          status: z.enum(EXECUTION_STATUS_VALUES),
          statusMessage: z.string().optional(),
          runbookRef: z.string(),
          entityRef: z.string(),
          mode: z
            .enum(['dry-run', 'execute'])
            .describe('dry-run changes nothing; execute applies the changes'),
          parameters: z
            .record(z.unknown())
            .describe('The parameters; values of secret ones are masked'),
          requester: z.string(),
          createdAt: z.string(),
          finishedAt: z.string().optional(),
          steps: z.array(
            z.object({
              id: z.string(),
              status: z.enum(STEP_STATUSES),
              error: z.string().optional(),
            }),
          ),
          summary: z.string().describe('What happened, as Markdown'),
        }),
    },
    action: async ({ input, credentials }) => {
      const execution = await store.getExecution(input.executionId);
      await authorizer.assert(
        credentials,
        executionReadPermission,
        execution,
        'read',
      );
      const shown = redactExecution(execution);
      const steps = redactSteps(execution, await store.getSteps(execution.id));
      const summary = await agent.summary(execution);
      return {
        output: {
          executionId: shown.id,
          status: shown.status,
          statusMessage: shown.statusMessage,
          runbookRef: shown.runbookRef,
          entityRef: shown.entityRef,
          mode: shown.mode,
          parameters: shown.parameters,
          requester: shown.requester,
          createdAt: shown.createdAt.toISOString(),
          finishedAt: shown.finishedAt?.toISOString(),
          steps: steps.map(s => ({
            id: s.stepId,
            status: s.status,
            error: s.error,
          })),
          summary: summary.text,
        },
      };
    },
  });
}
