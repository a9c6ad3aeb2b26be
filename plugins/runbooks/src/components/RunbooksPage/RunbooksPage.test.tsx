import { KillSwitchListResponse } from '@runbooks/plugin-runbooks-common';
import { screen, within } from '@testing-library/react';
import { rest } from 'msw';
import { Route, Routes } from 'react-router-dom';
import {
  executionDetailsFixture,
  executionFixture,
  killSwitchFixture,
  renderWithRunbooksApi,
  setupRunbooksServer,
  summaryFixture,
} from '../../__testUtils__';
import { runbooksPageRouteRef } from '../../routes';
import { RunbooksPage } from './RunbooksPage';

const { server, base, api } = setupRunbooksServer();

const details = executionDetailsFixture(
  executionFixture({
    runbookRef: 'runbook:default/restart-deployment',
    runbookDigest: 'sha256:r',
    status: 'succeeded',
    currentStep: 1,
    updatedAt: '2026-11-25T02:00:02.000Z',
    finishedAt: '2026-11-25T02:00:02.000Z',
  }),
  {
    steps: [
      { stepIndex: 0, stepId: 'restart', status: 'succeeded', attempt: 1 },
    ],
    provenance: { status: 'verified', statements: 2 },
  },
);

const engagedAt = '2026-11-25T01:00:00.000Z';
const switches: KillSwitchListResponse = {
  canManage: false,
  items: [
    killSwitchFixture({ engagedAt }),
    killSwitchFixture({
      id: 'k2',
      scope: 'execution',
      target: 'x9',
      reason: 'Runaway execution',
      engagedAt,
    }),
  ],
};

function renderPage(path: string) {
  return renderWithRunbooksApi(
    <Routes>
      <Route path="/runbooks/*" element={<RunbooksPage />} />
    </Routes>,
    api,
    {
      routeEntries: [path],
      mountedRoutes: { '/runbooks': runbooksPageRouteRef },
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
          ctx.json(
            summaryFixture(
              'x1',
              'Restarted checkout.',
              '2026-11-25T02:00:03.000Z',
            ),
          ),
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
