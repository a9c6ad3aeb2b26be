import {
  EntityRunbook,
  IncidentResponse,
  ProposalResponse,
} from '@runbooks/plugin-runbooks-common';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { rest } from 'msw';
import {
  executionFixture,
  renderWithRunbooksApi,
  replyError,
  setupRunbooksServer,
} from '../../__testUtils__';
import { AgentProposals } from './AgentProposals';

const entity = { kind: 'component', namespace: 'default', name: 'checkout' };
const entityRef = 'component:default/checkout';

const runbook: EntityRunbook = {
  ref: 'runbook:default/scale-deployment',
  name: 'scale-deployment',
  title: 'Scale a deployment within bounds',
  owner: 'group:default/sre',
  appliesBy: ['selector'],
  parametersSchema: {
    type: 'object',
    required: ['replicas'],
    additionalProperties: false,
    properties: {
      deployment: { type: 'string', 'x-runbooks-format': 'k8s-name' },
      replicas: { type: 'integer', minimum: 1, maximum: 20 },
    },
  },
  parameterDefinitions: {
    deployment: { type: 'string', format: 'k8s-name' },
    replicas: { type: 'integer', minimum: 1, maximum: 20 },
  },
  defaults: { deployment: 'checkout' },
  steps: [],
  mutatingSteps: 1,
  approval: 'blast-radius',
  toolProblems: [],
};

// model output that looks like markup must stay text
const rationale =
  'p99 latency doubled after the traffic spike.\n<img src=x onerror="alert(1)"> **scale out**';

function proposal(overrides: Partial<ProposalResponse>): ProposalResponse {
  return {
    id: 'p1',
    incidentId: 'i1',
    entityRef,
    runbookRef: 'runbook:default/scale-deployment',
    runbookTitle: 'Scale a deployment within bounds',
    parameters: { deployment: 'checkout', replicas: 5 },
    rationale,
    planner: 'offline',
    status: 'pending',
    createdBy: 'user:default/alice',
    createdAt: '2026-11-28T02:00:00.000Z',
    ...overrides,
  };
}

function incident(overrides: Partial<IncidentResponse>): IncidentResponse {
  return {
    id: 'i1',
    source: 'ask',
    entityRef,
    title: 'checkout is slow',
    planner: 'offline',
    createdBy: 'user:default/alice',
    createdAt: '2026-11-28T02:00:00.000Z',
    proposals: [],
    ...overrides,
  };
}

const { server, base, api } = setupRunbooksServer();

/** Serves the pending list from `pending`, which tests change as the backend would. */
function serve(options: {
  pending?: ProposalResponse[];
  answer?: IncidentResponse;
}) {
  const state = {
    pending: options.pending ?? [],
    asked: [] as unknown[],
    started: [] as Array<{ id: string; body: unknown }>,
    dismissed: [] as string[],
    listQueries: [] as string[],
  };
  server.use(
    rest.get(`${base}/proposals`, (req, res, ctx) => {
      state.listQueries.push(req.url.search);
      return res(ctx.json({ items: state.pending }));
    }),
    rest.post(
      `${base}/entities/component/default/checkout/ask`,
      async (req, res, ctx) => {
        state.asked.push(await req.json());
        const answer = options.answer ?? incident({});
        state.pending = [
          ...answer.proposals.filter(p => p.status === 'pending'),
          ...state.pending,
        ];
        return res(ctx.status(201), ctx.json(answer));
      },
    ),
    rest.post(`${base}/proposals/:id/start`, async (req, res, ctx) => {
      const id = String(req.params.id);
      state.started.push({ id, body: await req.json() });
      state.pending = state.pending.filter(p => p.id !== id);
      return res(
        ctx.status(201),
        ctx.json(
          executionFixture({
            id: 'e1',
            entityRef,
            parameters: { deployment: 'checkout', replicas: 5 },
            createdAt: '2026-11-28T02:01:00.000Z',
            updatedAt: '2026-11-28T02:01:00.000Z',
          }),
        ),
      );
    }),
    rest.post(`${base}/proposals/:id/dismiss`, (req, res, ctx) => {
      const id = String(req.params.id);
      state.dismissed.push(id);
      const dismissed = state.pending.find(p => p.id === id)!;
      state.pending = state.pending.filter(p => p.id !== id);
      return res(
        ctx.json({
          ...dismissed,
          status: 'dismissed',
          decidedBy: 'user:default/alice',
        }),
      );
    }),
  );
  return state;
}

function renderCard(
  props: { canExecute?: boolean; onStarted?: (id: string) => void } = {},
) {
  return renderWithRunbooksApi(
    <AgentProposals
      entity={entity}
      runbooks={[runbook]}
      canExecute={props.canExecute ?? true}
      onStarted={props.onStarted}
    />,
    api,
  );
}

async function ask(text: string) {
  fireEvent.change(
    screen.getByLabelText('Describe the incident or paste an alert'),
    { target: { value: text } },
  );
  fireEvent.click(screen.getByRole('button', { name: 'Ask the agent' }));
  return screen.findByTestId('agent-answer');
}

describe('AgentProposals', () => {
  it('asks the agent and shows its proposal with typed parameters and the rationale as text', async () => {
    const state = serve({
      answer: incident({ proposals: [proposal({})] }),
    });
    await renderCard();
    expect(await screen.findByText('No pending proposals.')).toBeVisible();
    expect(state.listQueries[0]).toBe(
      '?entityRef=component%3Adefault%2Fcheckout&status=pending',
    );
    const submit = screen.getByRole('button', { name: 'Ask the agent' });
    fireEvent.change(
      screen.getByLabelText('Describe the incident or paste an alert'),
      { target: { value: ' a' } },
    );
    expect(submit).toBeDisabled();

    const answer = await ask('  checkout is slow since the deploy  ');
    expect(state.asked).toEqual([
      { text: 'checkout is slow since the deploy' },
    ]);
    expect(within(answer).getByText('checkout is slow')).toBeVisible();
    const card = within(screen.getByTestId('proposal-p1'));
    expect(
      card.getByText('Scale a deployment within bounds'),
    ).toBeInTheDocument();
    expect(card.getByText('scale-deployment')).toBeInTheDocument();
    expect(card.getByTestId('proposal-status')).toHaveTextContent('pending');
    expect(card.getByText('replicas*: integer 1–20 = 5')).toBeInTheDocument();
    expect(
      card.getByText('deployment: k8s-name = checkout'),
    ).toBeInTheDocument();

    const region = screen.getByRole('region', { name: "Agent's rationale" });
    expect(region).toHaveTextContent("Agent's rationale (offline)");
    expect(region).toHaveTextContent(rationale.replace('\n', ' '));
    expect(region.querySelector('img')).toBeNull();
    expect(region.querySelector('strong')).toBeNull();

    // the proposal just made is not listed twice
    expect(
      await screen.findByText('No other pending proposals.'),
    ).toBeVisible();
    expect(screen.getAllByTestId(/^proposal-p/)).toHaveLength(1);
  });

  it('shows why a proposal was refused, with nothing to start', async () => {
    serve({
      answer: incident({
        proposals: [
          proposal({
            status: 'refused',
            refusal: 'replicas: Too big: expected number to be <=20',
            parameters: { deployment: 'checkout', replicas: 50 },
          }),
        ],
      }),
    });
    await renderCard();
    await ask('scale checkout to 50');
    const card = within(screen.getByTestId('proposal-p1'));
    expect(card.getByTestId('proposal-status')).toHaveTextContent('refused');
    expect(
      card.getByText('Refused: replicas: Too big: expected number to be <=20'),
    ).toBeVisible();
    expect(card.queryByRole('button', { name: 'Start dry-run' })).toBeNull();
    expect(card.queryByRole('button', { name: 'Dismiss' })).toBeNull();
  });

  it('says why the agent proposes nothing', async () => {
    serve({
      answer: incident({
        noAction: 'No runbook of this entity answers a certificate expiry.',
      }),
    });
    await renderCard();
    const answer = await ask('the TLS certificate expires tomorrow');
    expect(
      within(answer).getByText('Info: The agent proposes no runbook'),
    ).toBeVisible();
    expect(
      within(answer).getByText(
        'No runbook of this entity answers a certificate expiry.',
      ),
    ).toBeVisible();
    expect(within(answer).queryByTestId(/^proposal-/)).toBeNull();
  });

  it('starts a proposal as a dry-run and shows the execution', async () => {
    const state = serve({
      answer: incident({ proposals: [proposal({})] }),
    });
    const onStarted = jest.fn();
    await renderCard({ onStarted });
    await ask('checkout is slow');
    fireEvent.click(screen.getByRole('button', { name: 'Start dry-run' }));

    expect(
      await screen.findByTestId('proposal-execution-p1'),
    ).toHaveTextContent(
      'Started as execution e1, listed under Recent executions.',
    );
    expect(state.started).toEqual([{ id: 'p1', body: { mode: 'dry-run' } }]);
    expect(onStarted).toHaveBeenCalledWith('e1');
    const card = within(screen.getByTestId('proposal-p1'));
    expect(card.getByTestId('proposal-status')).toHaveTextContent('started');
    expect(card.queryByRole('button', { name: 'Start dry-run' })).toBeNull();
  });

  it('shows an execution the backend started as a dry-run by itself', async () => {
    serve({
      answer: incident({
        proposals: [proposal({ status: 'started', executionId: 'e7' })],
      }),
    });
    const onStarted = jest.fn();
    await renderCard({ onStarted });
    await ask('checkout is slow');
    expect(screen.getByTestId('proposal-execution-p1')).toHaveTextContent(
      'Started as execution e7',
    );
    expect(onStarted).toHaveBeenCalledWith('e7');
  });

  it('dismisses a pending proposal from an alert and drops it from the list', async () => {
    const state = serve({
      pending: [
        proposal({
          id: 'p2',
          incidentId: 'i2',
          createdBy: 'alertmanager',
          rationale: 'Alert CheckoutLatencyHigh matches the runbook trigger.',
        }),
      ],
    });
    await renderCard();
    const item = await screen.findByTestId('proposal-p2');
    expect(item).toHaveTextContent('From alertmanager');
    expect(item).toHaveTextContent(
      'Alert CheckoutLatencyHigh matches the runbook trigger.',
    );
    fireEvent.click(within(item).getByRole('button', { name: 'Dismiss' }));
    await waitFor(() =>
      expect(screen.queryByTestId('proposal-p2')).not.toBeInTheDocument(),
    );
    expect(state.dismissed).toEqual(['p2']);
    expect(screen.getByText('No pending proposals.')).toBeVisible();
  });

  it('shows the error when a proposal is no longer pending, and refreshes the list', async () => {
    const state = serve({ pending: [proposal({ id: 'p3' })] });
    server.use(
      rest.post(`${base}/proposals/p3/start`, (_req, res, ctx) => {
        state.pending = [];
        return replyError(
          res,
          ctx,
          409,
          'ConflictError',
          'Proposal p3 is dismissed, not pending',
        );
      }),
    );
    await renderCard();
    fireEvent.click(
      within(await screen.findByTestId('proposal-p3')).getByRole('button', {
        name: 'Start dry-run',
      }),
    );
    expect(
      await screen.findByText('Proposal p3 is dismissed, not pending'),
    ).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.queryByTestId('proposal-p3')).not.toBeInTheDocument(),
    );
  });

  it('hides start and dismiss from someone who may not run runbooks here', async () => {
    serve({
      pending: [proposal({ id: 'p2', createdBy: 'alertmanager' })],
      answer: incident({ proposals: [proposal({})] }),
    });
    await renderCard({ canExecute: false });
    expect(await screen.findByTestId('proposal-p2')).toBeInTheDocument();
    expect(
      screen.getByText(
        'You may not start runbooks on this entity, so you cannot start or dismiss proposals.',
      ),
    ).toBeVisible();
    await ask('checkout is slow');
    expect(screen.getByTestId('proposal-p1')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Start dry-run' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Dismiss' })).toBeNull();
  });
});
