import { KillSwitchResponse } from '@runbooks/plugin-runbooks-common';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { rest } from 'msw';
import {
  killSwitchFixture,
  renderWithRunbooksApi,
  replyError,
  setupRunbooksServer,
} from '../../__testUtils__';
import { KillSwitchBanner } from './KillSwitchBanner';

const { server, base, api } = setupRunbooksServer();

const engagedAt = '2026-11-25T02:00:00.000Z';
const global = killSwitchFixture({ engagedAt });
const otherEntity = killSwitchFixture({
  id: 'k2',
  scope: 'entity',
  target: 'component:default/payments',
  reason: 'Payments freeze',
  engagedBy: 'user:default/dave',
  engagedAt,
});
const thisEntity: KillSwitchResponse = {
  ...otherEntity,
  id: 'k3',
  target: 'component:default/checkout',
  reason: 'Checkout freeze',
};

function serve(items: KillSwitchResponse[], canManage: boolean) {
  const state = { items, canManage };
  server.use(
    rest.get(`${base}/kill-switches`, (_req, res, ctx) => res(ctx.json(state))),
  );
  return state;
}

function renderBanner(
  props: {
    entityRef?: string;
    runbookRefs?: string[];
    executionId?: string;
  } = {},
) {
  return renderWithRunbooksApi(<KillSwitchBanner {...props} />, api);
}

describe('KillSwitchBanner', () => {
  it('shows an engaged global switch with its reason and who engaged it', async () => {
    serve([global], false);
    await renderBanner();
    const alert = await screen.findByTestId('kill-switch-global');
    expect(alert).toHaveAttribute('role', 'alert');
    expect(alert).toHaveTextContent(
      '⛔ Global kill switch engaged: no runbook runs anywhere',
    );
    expect(alert).toHaveTextContent(
      `Database failover in progress — carol, ${new Date(
        engagedAt,
      ).toLocaleString()}.`,
    );
    expect(
      screen.queryByRole('button', { name: /Release/ }),
    ).not.toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Engage kill switch…' }),
    ).not.toBeInTheDocument();
  });

  it('releases a switch and reloads', async () => {
    const released: string[] = [];
    const state = serve([global], true);
    server.use(
      rest.post(`${base}/kill-switches/:id/release`, (req, res, ctx) => {
        released.push(req.params.id as string);
        state.items = [];
        return res(
          ctx.json({
            ...global,
            releasedBy: 'user:default/guest',
            releasedAt: '2026-11-25T03:00:00.000Z',
          }),
        );
      }),
    );
    await renderBanner();
    fireEvent.click(
      await screen.findByRole('button', {
        name: 'Release: Global kill switch engaged: no runbook runs anywhere',
      }),
    );
    // a release lets held executions go on: it asks first
    const confirm = await screen.findByRole('dialog', {
      name: 'Release the kill switch?',
    });
    expect(released).toEqual([]);
    fireEvent.click(within(confirm).getByRole('button', { name: 'Release' }));
    await waitFor(() =>
      expect(
        screen.queryByTestId('kill-switch-global'),
      ).not.toBeInTheDocument(),
    );
    expect(released).toEqual(['k1']);
    expect(
      await screen.findByRole('button', { name: 'Engage kill switch…' }),
    ).toBeInTheDocument();
  });

  it("shows only the switches that hold on this entity's page", async () => {
    serve([otherEntity, thisEntity, global], false);
    await renderBanner({ entityRef: 'component:default/checkout' });
    await screen.findByTestId('kill-switch-global');
    const entity = screen.getAllByTestId('kill-switch-entity');
    expect(entity).toHaveLength(1);
    expect(entity[0]).toHaveTextContent(
      '⛔ Kill switch engaged for entity checkout',
    );
    expect(entity[0]).toHaveTextContent('Checkout freeze');
    expect(screen.queryByText(/Payments freeze/)).not.toBeInTheDocument();
  });

  it('engages a switch on the entity with a reason', async () => {
    const bodies: unknown[] = [];
    const state = serve([], true);
    server.use(
      rest.post(`${base}/kill-switches`, async (req, res, ctx) => {
        bodies.push(await req.json());
        state.items = [thisEntity];
        return res(ctx.status(201), ctx.json(thisEntity));
      }),
    );
    await renderBanner({ entityRef: 'component:default/checkout' });
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();

    fireEvent.click(
      await screen.findByRole('button', { name: 'Engage kill switch…' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByRole('radio', { name: 'Every runbook on checkout' }),
    ).toBeChecked();
    expect(
      within(dialog).getByRole('radio', { name: 'Everything (global)' }),
    ).not.toBeChecked();

    const engage = within(dialog).getByRole('button', { name: 'Engage' });
    expect(engage).toBeDisabled();
    const reason = within(dialog).getByLabelText('Reason');
    fireEvent.change(reason, { target: { value: 'ab' } });
    expect(engage).toBeDisabled();
    fireEvent.change(reason, { target: { value: '   ab   ' } });
    expect(engage).toBeDisabled();
    fireEvent.change(reason, { target: { value: 'Bad deploy, hold on ' } });
    expect(engage).toBeEnabled();

    fireEvent.click(engage);
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(bodies).toEqual([
      {
        scope: 'entity',
        target: 'component:default/checkout',
        reason: 'Bad deploy, hold on',
      },
    ]);
    expect(await screen.findByTestId('kill-switch-entity')).toHaveTextContent(
      'Checkout freeze',
    );
  });

  it("offers an execution page's four scopes, narrowest first, and sends the runbook's ref", async () => {
    const bodies: any[] = [];
    serve([], true);
    server.use(
      rest.post(`${base}/kill-switches`, async (req, res, ctx) => {
        bodies.push(await req.json());
        return res(ctx.status(201), ctx.json(global));
      }),
    );
    await renderBanner({
      executionId: 'x1',
      entityRef: 'component:default/checkout',
      runbookRefs: ['runbook:default/restart-deployment'],
    });
    fireEvent.click(
      await screen.findByRole('button', { name: 'Engage kill switch…' }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: 'Engage a kill switch',
    });
    expect(
      within(dialog)
        .getAllByRole('radio')
        .map(r => r.closest('label')?.textContent),
    ).toEqual([
      'Only this execution',
      'Every runbook on checkout',
      'The runbook restart-deployment everywhere',
      'Everything (global)',
    ]);
    expect(
      within(dialog).getByRole('radio', { name: 'Only this execution' }),
    ).toBeChecked();
    fireEvent.click(
      within(dialog).getByRole('radio', {
        name: 'The runbook restart-deployment everywhere',
      }),
    );
    fireEvent.change(within(dialog).getByLabelText('Reason'), {
      target: { value: 'The restart loops' },
    });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Engage' }));
    await waitFor(() => expect(bodies).toHaveLength(1));
    expect(bodies[0]).toEqual({
      scope: 'runbook',
      target: 'runbook:default/restart-deployment',
      reason: 'The restart loops',
    });
  });

  it('engages a global switch when there is no entity, and says why the backend refused', async () => {
    const bodies: unknown[] = [];
    serve([], true);
    server.use(
      rest.post(`${base}/kill-switches`, async (req, res, ctx) => {
        bodies.push(await req.json());
        return replyError(
          res,
          ctx,
          403,
          'NotAllowedError',
          'You may not engage kill switches',
        );
      }),
    );
    await renderBanner();
    fireEvent.click(
      await screen.findByRole('button', { name: 'Engage kill switch…' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).queryByRole('radio', { name: /Only/ })).toBeNull();
    expect(
      within(dialog).getByRole('radio', { name: 'Everything (global)' }),
    ).toBeChecked();
    fireEvent.change(within(dialog).getByLabelText('Reason'), {
      target: { value: 'Incident 42' },
    });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Engage' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'You may not engage kill switches',
    );
    expect(bodies).toEqual([{ scope: 'global', reason: 'Incident 42' }]);
  });
});
