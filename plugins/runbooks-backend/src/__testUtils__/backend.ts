import { BackendFeature } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { InProcessTool } from '@runbooks/plugin-runbooks-node';
import { Knex } from 'knex';
import request from 'supertest';
import { runbooksPlugin } from '../plugin';
import { inProcessToolsModule } from './tools';

/** The statuses an execution ends in. */
export const ENDED = ['succeeded', 'failed', 'cancelled'];

/**
 * Starts a real backend with the runbooks plugin, the given in-process tools and a mock catalog
 * holding `entities`. The engine polls every 50 ms (`engine` adds to or overrides its settings);
 * `config` is the rest of the `runbooks` config (e.g. `{ provenance: { signingKey } }`). The database
 * is a fresh in-memory one unless `knex` is given; `features` are added (e.g. service factories).
 */
export async function startRunbooksTestBackend(options: {
  entities: Entity[];
  tools: Record<string, InProcessTool>;
  engine?: Record<string, unknown>;
  config?: Record<string, unknown>;
  knex?: Knex;
  features?: BackendFeature[];
}) {
  const { module: tools, invoker } = inProcessToolsModule(options.tools);
  const backend = await startTestBackend({
    features: [
      runbooksPlugin,
      tools,
      ...(options.features ?? []),
      catalogServiceMock.factory({ entities: options.entities }),
      options.knex
        ? mockServices.database.factory({ knex: options.knex })
        : mockServices.database.factory(),
      mockServices.rootConfig.factory({
        data: {
          runbooks: {
            engine: {
              pollIntervalMs: 50,
              killSwitchCheckMs: 50,
              ...options.engine,
            },
            // tests run health checks when they ask for them
            health: { intervalMinutes: 0 },
            ...options.config,
          },
        },
      }),
    ],
  });
  return { backend, server: backend.server, invoker };
}

/** The Authorization header of user:default/`user`. */
export const authorization = (user: string) =>
  mockCredentials.user.header(`user:default/${user}`);

/** POSTs an execution request as `as` (alice unless told); the response, whatever its status. */
export function requestExecution(server: any, body: object, as = 'alice') {
  return request(server)
    .post('/api/runbooks/executions')
    .set('Authorization', authorization(as))
    .send(body);
}

/**
 * Requests an execution of runbook:default/`runbook` on checkout as `as` (alice unless told) and
 * returns its id; throws unless the backend created it (201).
 */
export async function runExecution(
  server: any,
  runbook: string,
  parameters: Record<string, unknown>,
  mode: 'dry-run' | 'execute',
  as = 'alice',
): Promise<string> {
  const created = await requestExecution(
    server,
    {
      runbookRef: `runbook:default/${runbook}`,
      entityRef: 'component:default/checkout',
      parameters,
      mode,
    },
    as,
  );
  if (created.status !== 201) {
    throw new Error(
      `cannot start an execution: ${created.status} ${created.text}`,
    );
  }
  return created.body.id as string;
}

/**
 * Polls GET /executions/:id as `as` (alice unless told) until the execution has one of `statuses`;
 * its details then. Throws after `timeoutMs` (20 s unless told).
 */
export async function waitForStatus(
  server: any,
  id: string,
  statuses: string[],
  options: { as?: string; timeoutMs?: number; intervalMs?: number } = {},
) {
  const { as = 'alice', timeoutMs = 20_000, intervalMs = 25 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(server)
      .get(`/api/runbooks/executions/${id}`)
      .set('Authorization', authorization(as));
    if (statuses.includes(res.body.execution?.status)) return res.body;
    if (Date.now() > deadline) {
      throw new Error(
        `execution ${id} is ${JSON.stringify(
          res.body.execution ?? res.body,
        )}, not ${statuses}`,
      );
    }
    await new Promise(r => setTimeout(r, intervalMs));
  }
}
