import { renderTestApp } from '@backstage/frontend-test-utils';
import { screen } from '@testing-library/react';
import { rest } from 'msw';
import { convertLegacyRouteRef } from '@backstage/core-compat-api';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import runbooksPlugin from './alpha';
import {
  executionDetailsFixture,
  executionFixture,
  killSwitchFixture,
  setupRunbooksServer,
  summaryFixture,
} from './__testUtils__';

// the catalog's entity pages, which the execution page links to
const mountedRoutes = {
  '/catalog/:namespace/:kind/:name': convertLegacyRouteRef(entityRouteRef),
};

// the app finds the backend by its own discovery, so the handlers match any host
const { server } = setupRunbooksServer();

describe('the /alpha plugin (new frontend system)', () => {
  beforeEach(() => {
    server.use(
      rest.get('*/api/runbooks/approvals', (_req, res, ctx) =>
        res(ctx.json({ items: [] })),
      ),
      rest.get('*/api/runbooks/kill-switches', (_req, res, ctx) =>
        res(
          ctx.json({
            canManage: true,
            items: [
              killSwitchFixture({
                reason: 'INC-1 freeze',
                engagedBy: 'user:default/bob',
                engagedAt: '2026-11-25T03:00:00.000Z',
              }),
            ],
          }),
        ),
      ),
    );
  });

  it('mounts the page at /runbooks with the inbox and the kill-switch banner, through its own API', async () => {
    renderTestApp({
      features: [runbooksPlugin],
      initialRouteEntries: ['/runbooks'],
    });
    expect(
      await screen.findByText('Waiting for your approval (0)'),
    ).toBeInTheDocument();
    expect(await screen.findByTestId('kill-switch-global')).toHaveTextContent(
      'INC-1 freeze',
    );
    expect(
      screen.getByRole('button', { name: 'Engage kill switch…' }),
    ).toBeInTheDocument();
  });

  it('routes /runbooks/executions/:id to the execution page', async () => {
    const execution = executionFixture({
      runbookRef: 'runbook:default/restart-deployment',
      mode: 'execute',
      status: 'succeeded',
      currentStep: 3,
      updatedAt: '2026-11-25T02:00:10.000Z',
      finishedAt: '2026-11-25T02:00:10.000Z',
    });
    server.use(
      rest.get('*/api/runbooks/executions/x1', (_req, res, ctx) =>
        res(
          ctx.json(
            executionDetailsFixture(execution, {
              provenance: { status: 'verified', statements: 4 },
            }),
          ),
        ),
      ),
      rest.get('*/api/runbooks/executions/x1/summary', (_req, res, ctx) =>
        res(
          ctx.json(
            summaryFixture(
              'x1',
              'Restarted checkout.',
              '2026-11-25T02:00:11.000Z',
            ),
          ),
        ),
      ),
    );
    renderTestApp({
      features: [runbooksPlugin],
      initialRouteEntries: ['/runbooks/executions/x1'],
      mountedRoutes,
    });
    expect(await screen.findByTestId('provenance-x1')).toHaveTextContent(
      'Signed record verified (4 statements)',
    );
    expect(
      screen.getByText(/execute · requested by alice/),
    ).toBeInTheDocument();
    expect(await screen.findByText('Restarted checkout.')).toBeInTheDocument();
  });
});
