import { Entity } from '@backstage/catalog-model';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { EntityRunbooksResponse } from '@runbooks/plugin-runbooks-common';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { rest } from 'msw';
import {
  brokenProvenanceFixture,
  executionDetailsFixture,
  executionFixture,
  killSwitchFixture,
  renderWithRunbooksApi,
  replyError,
  setupRunbooksServer,
} from '../../__testUtils__';
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

const { server, base, api } = setupRunbooksServer();

function renderTab() {
  return renderWithRunbooksApi(
    <EntityProvider entity={entity}>
      <EntityRunbooksContent />
    </EntityProvider>,
    api,
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
      rest.get(`${base}/kill-switches`, (_req, res, ctx) =>
        res(ctx.json({ items: [], canManage: false })),
      ),
      rest.get(`${base}/executions/stats`, (req, res, ctx) =>
        res(
          ctx.json({
            entityRef: req.url.searchParams.get('entityRef'),
            since: '2026-09-07T00:00:00.000Z',
            weeks: [],
            runbooks: [],
          }),
        ),
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
    expect(screen.getByTestId('risk-scale-deployment')).toHaveTextContent(
      '1 of 2 steps change stateApproval: By its blast radius',
    );
    expect(screen.getByText('Never run here')).toBeInTheDocument();
    expect(
      screen.getByText('deployment: k8s-name = checkout'),
    ).toBeInTheDocument();
    expect(screen.getByText('replicas*: integer 1–20')).toBeInTheDocument();
    expect(screen.getByText('token: string (secret)')).toBeInTheDocument();
  });

  it('runs a runbook from the dialog: typed fields, inline errors, dry-run by default', async () => {
    const requests: unknown[] = [];
    const execution = {
      ...executionFixture({
        id: 'e1',
        parameters: { deployment: 'checkout', replicas: 3 },
      }),
      canExecute: true,
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
          ctx.json(
            executionDetailsFixture(execution, {
              provenance: brokenProvenanceFixture('signature invalid'),
            }),
          ),
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
    const execution = executionFixture({
      id: 'e2',
      parameters: { deployment: 'checkout', replicas: 4 },
      createdAt: '2026-11-28T02:00:00.000Z',
      updatedAt: '2026-11-28T02:00:00.000Z',
    });
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
        res(ctx.json(executionDetailsFixture(execution))),
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

  it('shows the last run, success rate, blast-radius preview and the weekly chart', async () => {
    const lastRun = executionFixture({
      id: 'e7',
      mode: 'execute',
      status: 'failed',
      currentStep: 1,
      createdAt: new Date(Date.now() - 3 * 3600_000).toISOString(),
      updatedAt: new Date().toISOString(),
    });
    const withPreview = {
      ...response,
      items: [
        {
          ...response.items[0],
          radiusPreview: {
            level: 'medium',
            action: 'approve',
            approvalsRequired: 1,
            ownerApprovalFrom: [],
            target: { entityRef: 'component:default/checkout' },
            affected: [
              {
                entityRef: 'component:default/storefront',
                kind: 'Component',
                owner: 'group:default/team-web',
                depth: 1,
                via: 'dependencyOf',
                counted: true,
              },
            ],
            measures: { dependents: 1, objects: 1, hosts: 0 },
            reasons: ['1 dependent'],
          },
        },
      ],
    };
    server.use(
      rest.get(
        `${base}/entities/component/default/checkout/runbooks`,
        (_req, res, ctx) => res(ctx.json(withPreview)),
      ),
      rest.get(`${base}/executions/stats`, (_req, res, ctx) =>
        res(
          ctx.json({
            entityRef: 'component:default/checkout',
            since: '2026-11-09T00:00:00.000Z',
            weeks: [
              {
                weekStart: '2026-11-09T00:00:00.000Z',
                succeeded: 2,
                failed: 0,
                cancelled: 1,
                open: 0,
                medianDurationMs: 4000,
              },
              {
                weekStart: '2026-11-16T00:00:00.000Z',
                succeeded: 1,
                failed: 1,
                cancelled: 0,
                open: 1,
                medianDurationMs: 90_000,
              },
            ],
            runbooks: [
              {
                runbookRef: 'runbook:default/scale-deployment',
                total: 6,
                succeeded: 3,
                failed: 1,
                cancelled: 1,
                successRate: 0.75,
                medianDurationMs: 90_000,
                needsAttention: 2,
                rejected: 1,
                mostFailedStep: { stepId: 'scale', failures: 3 },
                lastRun,
              },
            ],
            medianDurationMs: 6000,
            totals: {
              total: 6,
              succeeded: 3,
              failed: 1,
              cancelled: 1,
              successRate: 0.75,
              needsAttention: 2,
              rejected: 1,
            },
          }),
        ),
      ),
    );
    await renderTab();
    const last = await screen.findByTestId(
      'last-run-runbook:default/scale-deployment',
    );
    expect(last).toHaveTextContent(
      "failed 3 h ago75% succeeded (3 of 4, 12 weeks) · median 1 min 30 sneeded attention 2× · rejected 1× · fails most at 'scale' (3×)",
    );
    // the entity's figures over the window, above the chart's table
    expect(screen.getByTestId('entity-figures')).toHaveTextContent(
      '6 runs · 75% of those that ended succeeded · 2 needed attention · 1 rejected by an approver',
    );
    const risk = screen.getByTestId('risk-scale-deployment');
    expect(risk).toHaveTextContent(
      'Blast radius (at least): medium (approve, 1 approval)',
    );
    expect(
      within(risk).getByRole('link', { name: 'storefront' }),
    ).toHaveAttribute('href', '/catalog/default/component/storefront');
    const chart = screen.getByRole('img', {
      name: 'Executions per week over the last 2 weeks: 6 in all, median time to finish 6.0 s.',
    });
    expect(chart.querySelectorAll('rect')).toHaveLength(8);
    // the figures as a table: the second week's median is 1 min 30 s
    const table = screen.getByRole('table', {
      name: 'Executions per week by outcome',
      hidden: true,
    });
    expect(table).toHaveTextContent('1 min 30 s');
  });

  it('filters the history by runbook, status, requester and time, a page at a time', async () => {
    const queries: URLSearchParams[] = [];
    const item = (id: string) =>
      executionFixture({
        id,
        requester: 'user:default/bob',
        status: 'succeeded',
        currentStep: 2,
        createdAt: '2026-11-20T10:00:00.000Z',
        updatedAt: '2026-11-20T10:00:00.000Z',
      });
    server.use(
      rest.get(
        `${base}/entities/component/default/checkout/runbooks`,
        (_req, res, ctx) => res(ctx.json(response)),
      ),
      rest.get(`${base}/executions`, (req, res, ctx) => {
        queries.push(req.url.searchParams);
        const cursor = req.url.searchParams.get('cursor');
        return res(
          ctx.json(
            cursor === 'c2'
              ? { items: [item('page2')] }
              : { items: [item('page1')], nextCursor: 'c2' },
          ),
        );
      }),
    );
    await renderTab();
    await screen.findByTestId('execution-page1');
    expect(queries[0].get('entityRef')).toBe('component:default/checkout');
    expect(queries[0].get('limit')).toBe('10');

    fireEvent.click(screen.getByRole('button', { name: 'Older ›' }));
    await screen.findByTestId('execution-page2');
    expect(queries.at(-1)!.get('cursor')).toBe('c2');
    expect(screen.getByText('Page 2')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: '‹ Newer' }));
    await screen.findByTestId('execution-page1');
    expect(queries.at(-1)!.get('cursor')).toBeNull();

    fireEvent.change(screen.getByLabelText('Requester'), {
      target: { value: 'bob' },
    });
    await waitFor(() =>
      expect(queries.at(-1)!.get('requester')).toBe('user:default/bob'),
    );
    fireEvent.change(screen.getByLabelText('From'), {
      target: { value: '2026-11-01' },
    });
    fireEvent.change(screen.getByLabelText('To'), {
      target: { value: '2026-11-30' },
    });
    await waitFor(() => {
      const q = queries.at(-1)!;
      expect(new Date(q.get('createdAfter')!).getTime()).toBe(
        new Date('2026-11-01T00:00:00').getTime(),
      );
      // the whole last day counts
      expect(new Date(q.get('createdBefore')!).getTime()).toBe(
        new Date('2026-12-01T00:00:00').getTime(),
      );
    });
    // the selects: a status and a runbook
    fireEvent.mouseDown(screen.getByLabelText('Status'));
    fireEvent.click(await screen.findByRole('option', { name: 'failed' }));
    await waitFor(() => expect(queries.at(-1)!.get('status')).toBe('failed'));
    fireEvent.mouseDown(screen.getByLabelText('Runbook'));
    fireEvent.click(
      await screen.findByRole('option', {
        name: 'Scale a deployment within bounds',
      }),
    );
    await waitFor(() =>
      expect(queries.at(-1)!.get('runbookRef')).toBe(
        'runbook:default/scale-deployment',
      ),
    );
    fireEvent.click(screen.getByRole('button', { name: 'Clear filters' }));
    await waitFor(() => {
      const q = queries.at(-1)!;
      expect([...q.keys()].sort()).toEqual(['entityRef', 'limit']);
    });
  });

  it('shows a parameter bound to the entity as fixed and sends its entity value', async () => {
    const requests: any[] = [];
    const bound = {
      ...response,
      items: [
        {
          ...response.items[0],
          parameterDefinitions: {
            deployment: {
              type: 'string' as const,
              format: 'k8s-name',
              default:
                "${{ entity.metadata.annotations['backstage.io/kubernetes-id'] }}",
            },
            replicas: { type: 'integer' as const, minimum: 1, maximum: 20 },
          },
        },
      ],
    };
    server.use(
      rest.get(
        `${base}/entities/component/default/checkout/runbooks`,
        (_req, res, ctx) => res(ctx.json(bound)),
      ),
      rest.post(`${base}/executions`, async (req, res, ctx) => {
        requests.push(await req.json());
        return res(ctx.status(500));
      }),
    );
    await renderTab();
    fireEvent.click(
      await screen.findByRole('button', { name: 'Run scale-deployment' }),
    );
    const field = screen.getByLabelText('deployment');
    expect(field).toHaveValue('checkout');
    expect(field).toHaveAttribute('readonly');
    expect(screen.getByTestId('bound-deployment')).toHaveTextContent(
      'From this entity',
    );
    fireEvent.change(screen.getByLabelText('replicas'), {
      target: { value: '2' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Start dry-run' }));
    await waitFor(() => expect(requests).toHaveLength(1));
    expect(requests[0].parameters).toEqual({
      deployment: 'checkout',
      replicas: 2,
    });
  });

  it('offers no Run button to someone who may not run runbooks here, and shows an engaged kill switch', async () => {
    server.use(
      rest.get(
        `${base}/entities/component/default/checkout/runbooks`,
        (_req, res, ctx) => res(ctx.json({ ...response, canExecute: false })),
      ),
      rest.get(`${base}/kill-switches`, (_req, res, ctx) =>
        res(
          ctx.json({
            canManage: false,
            items: [
              killSwitchFixture({
                scope: 'entity',
                target: 'component:default/checkout',
                reason: 'INC-7 database failover',
                engagedBy: 'user:default/bob',
                engagedAt: '2026-11-25T03:00:00.000Z',
              }),
            ],
          }),
        ),
      ),
    );
    await renderTab();
    expect(
      await screen.findByText('You may not run runbooks here'),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Run scale-deployment' }),
    ).not.toBeInTheDocument();
    const banner = await screen.findByTestId('kill-switch-entity');
    expect(banner).toHaveTextContent('Kill switch engaged for entity checkout');
    expect(banner).toHaveTextContent('INC-7 database failover — bob');
    expect(
      screen.queryByRole('button', { name: 'Engage kill switch…' }),
    ).not.toBeInTheDocument();
  });

  it("shows each runbook's health, checks again on request, and warns in the dialog when it drifted", async () => {
    const verifiedAt = new Date(Date.now() - 10 * 60_000).toISOString();
    const drifted = {
      runbookRef: 'runbook:default/scale-deployment',
      entityRef: 'component:default/checkout',
      status: 'drifted',
      findings: [
        {
          kind: 'missing-object',
          stepId: 'read',
          message:
            'kubernetes/get-deployment: deployments.apps "checkout" not found',
        },
      ],
      skipped: [],
      checked: { steps: ['read'], preconditions: 0 },
      verifiedAt,
    };
    let checks = 0;
    server.use(
      rest.get(
        `${base}/entities/component/default/checkout/runbooks`,
        (_req, res, ctx) =>
          res(
            ctx.json({
              ...response,
              items: [
                {
                  ...response.items[0],
                  health:
                    checks === 0
                      ? { ...drifted, status: 'healthy', findings: [] }
                      : drifted,
                },
              ],
            }),
          ),
      ),
      rest.post(
        `${base}/entities/component/default/checkout/health/check`,
        (_req, res, ctx) => {
          checks++;
          return res(ctx.json({ items: [drifted] }));
        },
      ),
    );
    await renderTab();
    const risk = await screen.findByTestId('risk-scale-deployment');
    expect(risk).toHaveTextContent('✓ Matches the system (checked 10 min ago)');

    fireEvent.click(
      screen.getByRole('button', { name: 'Check runbooks against the system' }),
    );
    await waitFor(() =>
      expect(screen.getByTestId('risk-scale-deployment')).toHaveTextContent(
        '⚠ Drifted from the system (checked 10 min ago)read: kubernetes/get-deployment: deployments.apps "checkout" not found',
      ),
    );
    expect(checks).toBe(1);

    fireEvent.click(
      screen.getByRole('button', { name: 'Run scale-deployment' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByRole('alert')).toHaveTextContent(
      '⚠ Drifted from the system (checked 10 min ago): the runbook may not do what it says here. Start with a dry-run and read its plan.',
    );
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
          replyError(
            res,
            ctx,
            404,
            'NotFoundError',
            'No entity component:default/checkout in the catalog',
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
