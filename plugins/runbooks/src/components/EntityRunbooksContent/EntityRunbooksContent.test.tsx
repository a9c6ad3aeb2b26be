import { Entity } from '@backstage/catalog-model';
import {
  MockFetchApi,
  registerMswTestHooks,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/test-utils';
import {
  EntityProvider,
  entityRouteRef,
} from '@backstage/plugin-catalog-react';
import { EntityRunbooksResponse } from '@runbooks/plugin-runbooks-common';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { rest } from 'msw';
import { setupServer } from 'msw/node';
import { RunbooksClient, runbooksApiRef } from '../../api';
import { EntityRunbooksContent } from './EntityRunbooksContent';

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'checkout', namespace: 'default' },
  spec: { type: 'service', owner: 'team-checkout' },
};

const response: EntityRunbooksResponse = {
  entityRef: 'component:default/checkout',
  canExecute: true,
  items: [
    {
      ref: 'runbook:default/scale-deployment',
      name: 'scale-deployment',
      title: 'Scale a deployment within bounds',
      description: 'Sets the replica count',
      owner: 'group:default/sre',
      appliesBy: ['selector'],
      parametersSchema: {
        type: 'object',
        required: ['replicas'],
        additionalProperties: false,
        properties: {
          deployment: {
            type: 'string',
            'x-runbooks-format': 'k8s-name',
            default: 'checkout',
            description: 'Deployment',
          },
          replicas: { type: 'integer', minimum: 1, maximum: 20 },
          token: { type: 'string', writeOnly: true, 'x-runbooks-secret': true },
        },
      },
      parameterDefinitions: {
        deployment: { type: 'string', format: 'k8s-name' },
        replicas: { type: 'integer', minimum: 1, maximum: 20 },
      },
      defaults: { deployment: 'checkout' },
      steps: [
        {
          id: 'read',
          tool: 'kubernetes/get-deployment',
          mutates: false,
          idempotent: false,
          approval: 'auto',
        },
        {
          id: 'scale',
          tool: 'kubernetes/scale',
          mutates: true,
          idempotent: true,
          approval: 'auto',
        },
      ],
      mutatingSteps: 1,
      approval: 'blast-radius',
      toolProblems: [],
    },
  ],
};

const server = setupServer();
registerMswTestHooks(server);

const base = 'http://backend.test/api/runbooks';
const api = new RunbooksClient({
  discoveryApi: { getBaseUrl: async () => base },
  fetchApi: new MockFetchApi(),
});

function renderTab() {
  return renderInTestApp(
    <TestApiProvider apis={[[runbooksApiRef, api]]}>
      <EntityProvider entity={entity}>
        <EntityRunbooksContent />
      </EntityProvider>
    </TestApiProvider>,
    { mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef } },
  );
}

describe('EntityRunbooksContent', () => {
  beforeEach(() => {
    // the tab also lists the entity's recent executions and the agent's pending proposals; none
    // unless a test says otherwise
    server.use(
      rest.get(`${base}/executions`, (_req, res, ctx) =>
        res(ctx.json({ items: [] })),
      ),
      rest.get(`${base}/proposals`, (_req, res, ctx) =>
        res(ctx.json({ items: [] })),
      ),
    );
  });

  it('lists the runbooks of the entity with risk and typed parameters', async () => {
    server.use(
      rest.get(
        `${base}/entities/component/default/checkout/runbooks`,
        (_req, res, ctx) => res(ctx.json(response)),
      ),
    );
    await renderTab();
    expect(
      await screen.findByText('Scale a deployment within bounds'),
    ).toBeInTheDocument();
    expect(screen.getByText('Runbooks (1)')).toBeInTheDocument();
    expect(screen.getByText('1 of 2')).toBeInTheDocument();
    expect(screen.getByText('By its blast radius')).toBeInTheDocument();
    expect(
      screen.getByText('deployment: k8s-name = checkout'),
    ).toBeInTheDocument();
    expect(screen.getByText('replicas*: integer 1–20')).toBeInTheDocument();
    expect(screen.getByText('token: string (secret)')).toBeInTheDocument();
  });

  it('runs a runbook from the dialog: typed fields, inline errors, dry-run by default', async () => {
    const requests: unknown[] = [];
    const execution = {
      id: 'e1',
      runbookRef: 'runbook:default/scale-deployment',
      runbookDigest: 'sha256:x',
      entityRef: 'component:default/checkout',
      canExecute: true,
      parameters: { deployment: 'checkout', replicas: 3 },
      requester: 'user:default/alice',
      mode: 'dry-run',
      status: 'queued',
      currentStep: 0,
      createdAt: '2026-11-25T02:00:00.000Z',
      updatedAt: '2026-11-25T02:00:00.000Z',
    };
    server.use(
      rest.get(
        `${base}/entities/component/default/checkout/runbooks`,
        (_req, res, ctx) => res(ctx.json(response)),
      ),
      rest.get(`${base}/executions`, (req, res, ctx) =>
        res(
          ctx.json({
            items:
              req.url.searchParams.get('entityRef') ===
                'component:default/checkout' && requests.length > 0
                ? [execution]
                : [],
          }),
        ),
      ),
      rest.post(`${base}/executions`, async (req, res, ctx) => {
        requests.push(await req.json());
        return res(ctx.status(201), ctx.json(execution));
      }),
      rest.get(`${base}/executions/e1`, (_req, res, ctx) =>
        res(
          ctx.json({
            execution,
            steps: [],
            events: [],
            approvals: [],
            provenance: {
              status: 'broken',
              statements: 3,
              firstBroken: {
                position: 2,
                stepIndex: 1,
                stepId: 'scale',
                problem: 'signature invalid',
              },
            },
          }),
        ),
      ),
    );
    await renderTab();
    expect(await screen.findByText('No executions yet.')).toBeInTheDocument();
    fireEvent.click(
      screen.getByRole('button', { name: 'Run scale-deployment' }),
    );

    // the default comes from the entity; the required replicas field is empty, so nothing can start
    expect(screen.getByLabelText('deployment')).toHaveValue('checkout');
    const start = screen.getByRole('button', { name: 'Start dry-run' });
    expect(start).toBeDisabled();
    fireEvent.change(screen.getByLabelText('replicas'), {
      target: { value: '50' },
    });
    expect(
      screen.getByText('Too big: expected number to be <=20'),
    ).toBeInTheDocument();
    expect(start).toBeDisabled();
    fireEvent.change(screen.getByLabelText('replicas'), {
      target: { value: '3' },
    });
    expect(screen.getByTestId('run-summary')).toHaveTextContent(
      'scale — kubernetes/scale (plans its change only)',
    );
    expect(start).toBeEnabled();
    fireEvent.click(start);
    await waitFor(() => expect(requests).toHaveLength(1));
    expect(requests[0]).toEqual({
      runbookRef: 'runbook:default/scale-deployment',
      entityRef: 'component:default/checkout',
      parameters: { deployment: 'checkout', replicas: 3 },
      mode: 'dry-run',
    });
    expect(await screen.findByTestId('execution-e1')).toHaveTextContent(
      'scale-deployment · dry-run · by alice',
    );
    // the execution's signed record, as the backend verified it
    expect(await screen.findByTestId('provenance-e1')).toHaveTextContent(
      "Signed record broken at statement 2 (step 2 'scale')",
    );
    expect(
      screen.getByRole('button', { name: 'Download signed record' }),
    ).toBeInTheDocument();
  });

  it("shows the agent's pending proposals and opens the execution one becomes", async () => {
    const execution = {
      id: 'e2',
      runbookRef: 'runbook:default/scale-deployment',
      runbookDigest: 'sha256:x',
      entityRef: 'component:default/checkout',
      parameters: { deployment: 'checkout', replicas: 4 },
      requester: 'user:default/alice',
      mode: 'dry-run',
      status: 'queued',
      currentStep: 0,
      createdAt: '2026-11-28T02:00:00.000Z',
      updatedAt: '2026-11-28T02:00:00.000Z',
    };
    let started = false;
    server.use(
      rest.get(
        `${base}/entities/component/default/checkout/runbooks`,
        (_req, res, ctx) => res(ctx.json(response)),
      ),
      rest.get(`${base}/proposals`, (req, res, ctx) =>
        res(
          ctx.json({
            items:
              started ||
              req.url.searchParams.get('entityRef') !==
                'component:default/checkout'
                ? []
                : [
                    {
                      id: 'p9',
                      incidentId: 'i9',
                      entityRef: 'component:default/checkout',
                      runbookRef: 'runbook:default/scale-deployment',
                      parameters: { deployment: 'checkout', replicas: 4 },
                      rationale: 'CheckoutLatencyHigh fired',
                      planner: 'offline',
                      status: 'pending',
                      createdBy: 'alertmanager',
                      createdAt: '2026-11-28T01:59:00.000Z',
                    },
                  ],
          }),
        ),
      ),
      rest.post(`${base}/proposals/p9/start`, (_req, res, ctx) => {
        started = true;
        return res(ctx.status(201), ctx.json(execution));
      }),
      rest.get(`${base}/executions`, (_req, res, ctx) =>
        res(ctx.json({ items: started ? [execution] : [] })),
      ),
      rest.get(`${base}/executions/e2`, (_req, res, ctx) =>
        res(
          ctx.json({
            execution,
            steps: [],
            events: [],
            approvals: [],
            provenance: { status: 'open', statements: 0 },
          }),
        ),
      ),
    );
    await renderTab();
    const item = await screen.findByTestId('proposal-p9');
    // the title comes from the runbook the tab already loaded
    expect(item).toHaveTextContent('Scale a deployment within bounds');
    expect(item).toHaveTextContent('replicas*: integer 1–20 = 4');
    fireEvent.click(
      within(item).getByRole('button', { name: 'Start dry-run' }),
    );
    expect(await screen.findByTestId('execution-e2')).toHaveTextContent(
      'scale-deployment · dry-run · by alice',
    );
    expect(await screen.findByTestId('provenance-e2')).toHaveTextContent(
      'Signed so far (0 statements)',
    );
    expect(screen.getByText('No pending proposals.')).toBeVisible();
  });

  it('explains how runbooks apply when none do', async () => {
    server.use(
      rest.get(
        `${base}/entities/component/default/checkout/runbooks`,
        (_req, res, ctx) =>
          res(ctx.json({ entityRef: 'component:default/checkout', items: [] })),
      ),
    );
    await renderTab();
    expect(
      await screen.findByText('No runbooks apply to this entity'),
    ).toBeInTheDocument();
  });

  it('shows the backend error', async () => {
    server.use(
      rest.get(
        `${base}/entities/component/default/checkout/runbooks`,
        (_req, res, ctx) =>
          res(
            ctx.status(404),
            ctx.json({
              error: {
                name: 'NotFoundError',
                message: 'No entity component:default/checkout in the catalog',
              },
              request: { method: 'GET', url: '/x' },
              response: { statusCode: 404 },
            }),
          ),
      ),
    );
    await renderTab();
    expect(
      await screen.findByText(
        'No entity component:default/checkout in the catalog',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText('Runbooks (1)')).not.toBeInTheDocument();
  });
});
