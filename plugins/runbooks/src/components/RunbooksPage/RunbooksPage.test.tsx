import {
  MockFetchApi,
  registerMswTestHooks,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import {
  ExecutionDetailsResponse,
  KillSwitchListResponse,
} from '@runbooks/plugin-runbooks-common';
import { screen, within } from '@testing-library/react';
import { rest } from 'msw';
import { setupServer } from 'msw/node';
import { Route, Routes } from 'react-router-dom';
import { RunbooksClient, runbooksApiRef } from '../../api';
import { runbooksPageRouteRef } from '../../routes';
import { RunbooksPage } from './RunbooksPage';

const server = setupServer();
registerMswTestHooks(server);

const base = 'http://backend.test/api/runbooks';
const api = new RunbooksClient({
  discoveryApi: { getBaseUrl: async () => base },
  fetchApi: new MockFetchApi(),
});

const details: ExecutionDetailsResponse = {
  execution: {
    id: 'x1',
    runbookRef: 'runbook:default/restart-deployment',
    runbookDigest: 'sha256:r',
    entityRef: 'component:default/checkout',
    parameters: {},
    requester: 'user:default/alice',
    mode: 'dry-run',
    status: 'succeeded',
    currentStep: 1,
    createdAt: '2026-11-25T02:00:00.000Z',
    updatedAt: '2026-11-25T02:00:02.000Z',
    finishedAt: '2026-11-25T02:00:02.000Z',
  },
  steps: [{ stepIndex: 0, stepId: 'restart', status: 'succeeded', attempt: 1 }],
  events: [],
  approvals: [],
  provenance: { status: 'verified', statements: 2 },
  actions: { cancel: false, resume: false, skip: false, abort: false },
};

const switches: KillSwitchListResponse = {
  canManage: false,
  items: [
    {
      id: 'k1',
      scope: 'global',
      target: '',
      reason: 'Database failover in progress',
      engagedBy: 'user:default/carol',
      engagedAt: '2026-11-25T01:00:00.000Z',
    },
    {
      id: 'k2',
      scope: 'execution',
      target: 'x9',
      reason: 'Runaway execution',
      engagedBy: 'user:default/carol',
      engagedAt: '2026-11-25T01:00:00.000Z',
    },
  ],
};

function renderPage(path: string) {
  return renderInTestApp(
    <TestApiProvider apis={[[runbooksApiRef, api]]}>
      <Routes>
        <Route path="/runbooks/*" element={<RunbooksPage />} />
      </Routes>
    </TestApiProvider>,
    {
      routeEntries: [path],
      mountedRoutes: {
        '/runbooks': runbooksPageRouteRef,
        '/catalog/:namespace/:kind/:name': entityRouteRef,
      },
    },
  );
}

describe('RunbooksPage', () => {
  beforeEach(() => {
    server.use(
      rest.get(`${base}/kill-switches`, (_req, res, ctx) =>
        res(ctx.json(switches)),
      ),
    );
  });

  it("shows an execution's page with its header", async () => {
    const approvals = jest.fn();
    server.use(
      rest.get(`${base}/executions/x1`, (_req, res, ctx) =>
        res(ctx.json(details)),
      ),
      rest.get(`${base}/executions/x1/summary`, (_req, res, ctx) =>
        res(
          ctx.json({
            executionId: 'x1',
            text: 'Restarted checkout.',
            by: 'template',
            createdAt: '2026-11-25T02:00:03.000Z',
          }),
        ),
      ),
      rest.get(`${base}/approvals`, (_req, res, ctx) => {
        approvals();
        return res(ctx.json({ items: [] }));
      }),
    );
    await renderPage('/runbooks/executions/x1');

    expect(
      screen.getByRole('heading', { level: 1, name: 'Runbooks' }),
    ).toBeInTheDocument();
    const view = await screen.findByTestId('view-x1');
    expect(
      within(view).getByRole('heading', {
        name: 'restart-deployment on checkout',
      }),
    ).toBeInTheDocument();
    expect(view).toHaveTextContent('dry-run · requested by alice');
    expect(within(view).getByTestId('view-status')).toHaveTextContent(
      'succeeded',
    );
    expect(
      await within(view).findByText('Restarted checkout.'),
    ).toBeInTheDocument();

    // the banner shows what holds this execution, not another one's switch
    expect(await screen.findByTestId('kill-switch-global')).toHaveTextContent(
      'Database failover in progress',
    );
    expect(screen.queryByText(/Runaway execution/)).not.toBeInTheDocument();
    expect(screen.queryByText('Approvals inbox')).not.toBeInTheDocument();
    expect(approvals).not.toHaveBeenCalled();
  });

  it('shows the approvals inbox and the kill switches at its index', async () => {
    server.use(
      rest.get(`${base}/approvals`, (_req, res, ctx) =>
        res(ctx.json({ items: [] })),
      ),
    );
    await renderPage('/runbooks');

    expect(
      screen.getByRole('heading', { level: 1, name: 'Runbooks' }),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('tab', { name: 'Approvals inbox' }),
    ).toBeInTheDocument();
    expect(
      await screen.findByText('Nothing waits for your approval'),
    ).toBeInTheDocument();
    // unscoped, the index lists every engaged switch
    expect(await screen.findByTestId('kill-switch-global')).toHaveTextContent(
      'Database failover in progress',
    );
    expect(screen.getByTestId('kill-switch-execution')).toHaveTextContent(
      'Kill switch engaged for execution x9',
    );
    expect(screen.queryByTestId(/^view-/)).not.toBeInTheDocument();
  });
});
