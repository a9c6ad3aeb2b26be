import {
  ApprovalInboxItem,
  ApprovalInboxResponse,
} from '@runbooks/plugin-runbooks-common';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { rest } from 'msw';
import {
  executionFixture,
  renderWithRunbooksApi,
  replyError,
  setupRunbooksServer,
} from '../../__testUtils__';
import { runbooksPageRouteRef } from '../../routes';
import { ApprovalsInbox } from './ApprovalsInbox';

const { server, base, api } = setupRunbooksServer();

const planDigest = 'sha256:feedfacefeedfacefeedface';

function item(
  id: string,
  requester: string,
  canApprove: boolean,
  cannotApprove?: string,
): ApprovalInboxItem {
  return {
    execution: executionFixture({
      id,
      runbookDigest: 'sha256:r',
      parameters: { deployment: 'checkout', replicas: 3 },
      requester,
      mode: 'execute',
      status: 'waiting-approval',
      currentStep: 1,
      updatedAt: '2026-11-25T02:00:01.000Z',
    }),
    step: {
      stepIndex: 1,
      stepId: 'scale',
      status: 'waiting-approval',
      attempt: 1,
      plan: {
        objectCount: 1,
        diff: '@@ -1 +1 @@\n-replicas: 2\n+replicas: 3\n',
      },
      planDigest,
      blastRadius: {
        level: 'high',
        action: 'two-approvals',
        approvalsRequired: 2,
        ownerApprovalFrom: ['group:default/team-storefront'],
        target: { entityRef: 'component:default/checkout' },
        affected: [
          {
            entityRef: 'component:default/storefront',
            kind: 'Component',
            owner: 'group:default/team-storefront',
            lifecycle: 'production',
            tier: '1',
            depth: 1,
            via: 'dependencyOf',
            counted: true,
          },
        ],
        measures: { dependents: 1, objects: 1, hosts: 0 },
        reasons: ['storefront (tier 1) depends on checkout.'],
      },
    },
    gate: {
      stepIndex: 1,
      stepId: 'scale',
      planDigest,
      requestedAt: '2026-11-25T02:00:01.000Z',
      expiresAt: '2026-11-25T03:00:01.000Z',
      required: 2,
      approvals: [],
      ownerApprovalFrom: ['group:default/team-storefront'],
      missing: ['2 approvals'],
      canApprove,
    },
    cannotApprove,
  };
}

const forBob = item('x2', 'user:default/alice', true);
const own = item(
  'x3',
  'user:default/bob',
  false,
  'You requested this execution, so another person must approve it (four-eyes rule).',
);

function renderInbox() {
  return renderWithRunbooksApi(<ApprovalsInbox />, api, {
    mountedRoutes: { '/runbooks': runbooksPageRouteRef },
  });
}

describe('ApprovalsInbox', () => {
  it('shows what waits for the viewer and their own requests, with plan and blast radius', async () => {
    server.use(
      rest.get(`${base}/approvals`, (_req, res, ctx) =>
        res(ctx.json({ items: [own, forBob] } as ApprovalInboxResponse)),
      ),
    );
    await renderInbox();

    expect(
      await screen.findByRole('heading', {
        name: 'Waiting for your approval (1)',
      }),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('heading', {
        name: 'Waiting for someone else (1)',
      }),
    ).toBeInTheDocument();
    expect(
      screen.queryByText('Nothing waits for your approval'),
    ).not.toBeInTheDocument();

    const mine = screen.getByTestId('inbox-x2');
    expect(mine).toHaveTextContent('scale-deployment on checkout');
    expect(mine).toHaveTextContent("step 2 'scale' · requested by alice");
    expect(mine).toHaveTextContent(
      'Parameters: deployment="checkout", replicas=3',
    );
    expect(
      within(mine).getByRole('link', { name: 'Open the execution' }),
    ).toHaveAttribute('href', '/runbooks/executions/x2');
    expect(
      within(screen.getByTestId('inbox-diff-x2'))
        .getAllByRole('row')
        .map(r => r.textContent),
    ).toEqual(['@@ -1 +1 @@', '-replicas: 2', '+replicas: 3']);
    const radius = within(mine).getByTestId('blast-radius');
    expect(radius).toHaveTextContent(
      'Blast radius: high (two-approvals, 2 approvals) · 1 object(s) · 0 host(s)',
    );
    expect(radius).toHaveTextContent(
      'storefront (team-storefront, production, tier 1)',
    );
    expect(
      within(radius).getByRole('link', { name: 'storefront' }),
    ).toHaveAttribute('href', '/catalog/default/component/storefront');
    expect(
      within(mine).getByRole('button', { name: /^Approve the plan of/ }),
    ).toBeInTheDocument();

    const theirs = screen.getByTestId('inbox-x3');
    expect(within(theirs).getByRole('note')).toHaveTextContent(
      'You requested this execution, so another person must approve it (four-eyes rule).',
    );
    expect(
      within(theirs).queryByRole('button', { name: /^Approve the plan of/ }),
    ).not.toBeInTheDocument();
    expect(
      within(theirs).queryByRole('button', { name: /^Reject the plan of/ }),
    ).not.toBeInTheDocument();
  });

  it('rejects with a comment and reloads the inbox', async () => {
    const decisions: Array<{ path: string; body: unknown }> = [];
    let loads = 0;
    server.use(
      rest.get(`${base}/approvals`, (_req, res, ctx) => {
        loads++;
        return res(
          ctx.json({ items: decisions.length ? [own] : [forBob, own] }),
        );
      }),
      rest.post(
        `${base}/executions/:id/steps/:index/decision`,
        async (req, res, ctx) => {
          decisions.push({ path: req.url.pathname, body: await req.json() });
          return res(ctx.json({ ...forBob.execution, status: 'cancelled' }));
        },
      ),
    );
    await renderInbox();

    const mine = await screen.findByTestId('inbox-x2');
    fireEvent.change(within(mine).getByLabelText('Comment'), {
      target: { value: 'not during the sale' },
    });
    fireEvent.click(
      within(mine).getByRole('button', { name: /^Reject the plan of/ }),
    );

    expect(
      await screen.findByText('Nothing waits for your approval'),
    ).toBeInTheDocument();
    expect(decisions).toEqual([
      {
        path: '/api/runbooks/executions/x2/steps/1/decision',
        body: {
          decision: 'rejected',
          planDigest,
          comment: 'not during the sale',
        },
      },
    ]);
    expect(loads).toBe(2);
    expect(screen.queryByTestId('inbox-x2')).not.toBeInTheDocument();
    expect(
      screen.getByRole('heading', { name: 'Waiting for your approval (0)' }),
    ).toBeInTheDocument();
    expect(screen.getByTestId('inbox-x3')).toBeInTheDocument();
  });

  it('says why the backend refused a decision and keeps the item', async () => {
    server.use(
      rest.get(`${base}/approvals`, (_req, res, ctx) =>
        res(ctx.json({ items: [forBob] })),
      ),
      rest.post(`${base}/executions/x2/steps/1/decision`, (_req, res, ctx) =>
        replyError(
          res,
          ctx,
          409,
          'ConflictError',
          'The plan changed: approve the new plan',
        ),
      ),
    );
    await renderInbox();
    fireEvent.click(
      await screen.findByRole('button', { name: /^Approve the plan of/ }),
    );
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'The plan changed: approve the new plan',
    );
    expect(screen.getByTestId('inbox-x2')).toBeInTheDocument();
  });

  it('warns the approver when the runbook drifted from the system at its last check', async () => {
    const drifted = {
      ...forBob,
      health: {
        runbookRef: forBob.execution.runbookRef,
        entityRef: forBob.execution.entityRef,
        status: 'drifted' as const,
        findings: [
          {
            kind: 'unexpected-count' as const,
            stepId: 'scale',
            message:
              'The dry-run of kubernetes/scale would change nothing (0 objects)',
          },
        ],
        skipped: [],
        checked: { steps: ['read', 'scale'], preconditions: 1 },
        verifiedAt: new Date().toISOString(),
      },
    };
    server.use(
      rest.get(`${base}/approvals`, (_req, res, ctx) =>
        res(
          ctx.json({
            items: [
              drifted,
              {
                ...own,
                health: { ...drifted.health, status: 'healthy', findings: [] },
              },
            ],
          }),
        ),
      ),
    );
    await renderInbox();
    const alerts = await screen.findAllByRole('alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toHaveTextContent(
      '⚠ Drifted from the system (checked just now): the runbook may not do what it says here. Start with a dry-run and read its plan.scale: The dry-run of kubernetes/scale would change nothing (0 objects)',
    );
    expect(
      within(screen.getByTestId(`inbox-${forBob.execution.id}`)).getByRole(
        'alert',
      ),
    ).toBe(alerts[0]);
  });

  it('says when nothing waits', async () => {
    server.use(
      rest.get(`${base}/approvals`, (_req, res, ctx) =>
        res(ctx.json({ items: [] })),
      ),
    );
    await renderInbox();
    expect(
      await screen.findByText('Nothing waits for your approval'),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('heading', { name: 'Waiting for your approval (0)' }),
    ).toBeInTheDocument();
    expect(
      screen.queryByText(/Waiting for someone else/),
    ).not.toBeInTheDocument();
  });

  it('shows the backend error when the inbox cannot load', async () => {
    server.use(
      rest.get(`${base}/approvals`, (_req, res, ctx) =>
        replyError(res, ctx, 403, 'NotAllowedError', 'Not allowed'),
      ),
    );
    await renderInbox();
    expect(await screen.findByText('Not allowed')).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.queryByText(/Waiting for your approval/)).toBeNull(),
    );
  });
});
