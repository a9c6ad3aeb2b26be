import { entityRouteRef } from '@backstage/plugin-catalog-react';
import {
  MockFetchApi,
  registerMswTestHooks,
  renderInTestApp,
  TestApiProvider,
  TestAppOptions,
} from '@backstage/test-utils';
import {
  ExecutionDetailsResponse,
  ExecutionResponse,
  KillSwitchResponse,
} from '@runbooks/plugin-runbooks-common';
import { DefaultBodyType, ResponseComposition, RestContext } from 'msw';
import { setupServer } from 'msw/node';
import { ReactNode } from 'react';
import { RunbooksApi, RunbooksClient, runbooksApiRef } from '../api';

/** Where the test client finds the runbooks backend. */
export const runbooksBase = 'http://backend.test/api/runbooks';

/**
 * An msw server with Backstage's test hooks, and a {@link RunbooksClient} that talks to it.
 * Call it at the top level of a test file: it registers `beforeAll`, `afterEach` and `afterAll`.
 */
export function setupRunbooksServer() {
  const server = setupServer();
  registerMswTestHooks(server);
  const api = new RunbooksClient({
    discoveryApi: { getBaseUrl: async () => runbooksBase },
    fetchApi: new MockFetchApi(),
  });
  return { server, base: runbooksBase, api };
}

/**
 * Renders `element` in the test app with `api` as the runbooks API. The catalog's entity page
 * is always mounted (the views link to entities); `options.mountedRoutes` adds more routes.
 */
export function renderWithRunbooksApi(
  element: ReactNode,
  api: RunbooksApi,
  options: TestAppOptions = {},
) {
  return renderInTestApp(
    <TestApiProvider apis={[[runbooksApiRef, api]]}>{element}</TestApiProvider>,
    {
      ...options,
      mountedRoutes: {
        '/catalog/:namespace/:kind/:name': entityRouteRef,
        ...options.mountedRoutes,
      },
    },
  );
}

/** The body of an error response as a Backstage backend sends it. */
export function errorJson(
  status: number,
  name: string,
  message: string,
  request: { method: string; url: string } = { method: 'GET', url: '/x' },
) {
  return {
    error: { name, message },
    request,
    response: { statusCode: status },
  };
}

/** Answers an msw request with a Backstage backend error. */
export function replyError(
  res: ResponseComposition<DefaultBodyType>,
  ctx: RestContext,
  status: number,
  name: string,
  message: string,
  request?: { method: string; url: string },
) {
  return res(
    ctx.status(status),
    ctx.json(errorJson(status, name, message, request)),
  );
}

/** An execution of scale-deployment on checkout, queued as a dry-run by alice. */
export function executionFixture(
  overrides: Partial<ExecutionResponse> = {},
): ExecutionResponse {
  return {
    id: 'x1',
    runbookRef: 'runbook:default/scale-deployment',
    runbookDigest: 'sha256:x',
    entityRef: 'component:default/checkout',
    parameters: {},
    requester: 'user:default/alice',
    mode: 'dry-run',
    status: 'queued',
    currentStep: 0,
    createdAt: '2026-11-25T02:00:00.000Z',
    updatedAt: '2026-11-25T02:00:00.000Z',
    ...overrides,
  };
}

/** The details of `execution`: no steps, events or decisions, an open record, no actions. */
export function executionDetailsFixture(
  execution: ExecutionResponse,
  overrides: Partial<Omit<ExecutionDetailsResponse, 'execution'>> = {},
): ExecutionDetailsResponse {
  return {
    steps: [],
    events: [],
    approvals: [],
    provenance: { status: 'open', statements: 0 },
    actions: { cancel: false, resume: false, skip: false, abort: false },
    ...overrides,
    execution,
  };
}

/** A signed record that breaks at its second statement, on step 2 'scale'. */
export function brokenProvenanceFixture(
  problem: string,
): ExecutionDetailsResponse['provenance'] {
  return {
    status: 'broken',
    statements: 3,
    firstBroken: { position: 2, stepIndex: 1, stepId: 'scale', problem },
  };
}

/** An engaged global kill switch. */
export function killSwitchFixture(
  overrides: Partial<KillSwitchResponse> = {},
): KillSwitchResponse {
  return {
    id: 'k1',
    scope: 'global',
    target: '',
    reason: 'Database failover in progress',
    engagedBy: 'user:default/carol',
    engagedAt: '2026-11-25T02:00:00.000Z',
    ...overrides,
  };
}

/** An execution's summary, written from the template. */
export function summaryFixture(
  executionId: string,
  text: string,
  createdAt: string,
) {
  return { executionId, text, by: 'template', createdAt };
}
