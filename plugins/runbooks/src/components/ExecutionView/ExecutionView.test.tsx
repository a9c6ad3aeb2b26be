import {
  ExecutionDetailsResponse,
  ExecutionResponse,
  StepRunResponse,
} from '@runbooks/plugin-runbooks-common';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { rest } from 'msw';
import {
  brokenProvenanceFixture,
  executionDetailsFixture,
  executionFixture,
  renderWithRunbooksApi,
  replyError,
  setupRunbooksServer,
  summaryFixture,
} from '../../__testUtils__';
import { ExecutionView } from './ExecutionView';

const { server, base, api } = setupRunbooksServer();

/** The signed-in user of the test app (the guest identity of `renderInTestApp`). */
const viewer = 'user:default/guest';
const planDigest = 'sha256:0123456789abcdef0123456789abcdef';

const execution = executionFixture({
  runbookDigest: 'sha256:r',
  parameters: { replicas: 3 },
  mode: 'execute',
  status: 'running',
  currentStep: 1,
  updatedAt: '2026-11-25T02:00:01.000Z',
  startedAt: '2026-11-25T02:00:00.500Z',
});

const readStep: StepRunResponse = {
  stepIndex: 0,
  stepId: 'read',
  status: 'succeeded',
  attempt: 1,
  startedAt: '2026-11-25T02:00:00.500Z',
  finishedAt: '2026-11-25T02:00:01.000Z',
};

const scaleStep: StepRunResponse = {
  stepIndex: 1,
  stepId: 'scale',
  status: 'running',
  phase: 'applying',
  attempt: 1,
};

const initialEvents = [1, 2, 3, 4].map(seq => ({
  seq,
  type: ['execution-started', 'step-started', 'step-succeeded', 'step-started'][
    seq - 1
  ],
  payload: { step: seq < 4 ? 0 : 1 },
  createdAt: '2026-11-25T02:00:00.000Z',
}));

function details(
  overrides: Partial<Omit<ExecutionDetailsResponse, 'execution'>> & {
    execution?: Partial<ExecutionResponse>;
  } = {},
): ExecutionDetailsResponse {
  return executionDetailsFixture(
    { ...execution, ...overrides.execution },
    { steps: [readStep, scaleStep], events: initialEvents, ...overrides },
  );
}

const succeeded = details({
  execution: {
    status: 'succeeded',
    currentStep: 2,
    finishedAt: '2026-11-25T02:00:05.000Z',
  },
  steps: [readStep, { ...scaleStep, status: 'succeeded', phase: undefined }],
});

const stepSucceeded = {
  seq: 5,
  type: 'step-succeeded',
  payload: { step: 1 },
  createdAt: '2026-11-25T02:00:05.000Z',
};

const sse = (...events: Array<typeof stepSucceeded>) =>
  events
    .map(e => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
    .join('');

/** An event stream that stays open and says nothing (msw 1 cannot stream a body piece by piece). */
const quietStream = rest.get(
  `${base}/executions/x1/events`,
  () => new Promise<never>(() => {}),
);

function serve(body: ExecutionDetailsResponse) {
  server.use(
    rest.get(`${base}/executions/x1`, (_req, res, ctx) => res(ctx.json(body))),
  );
}

/** Serves `body`, answers every action posted on x1 with `answer`; returns the actions posted. */
function serveActions(
  body: ExecutionDetailsResponse,
  answer: ExecutionResponse = execution,
) {
  const posts: string[] = [];
  serve(body);
  server.use(
    rest.post(`${base}/executions/x1/:action`, (req, res, ctx) => {
      posts.push(req.params.action as string);
      return res(ctx.json(answer));
    }),
  );
  return posts;
}

/** A running execution that the viewer may only cancel. */
const cancellable = () =>
  details({
    actions: { cancel: true, resume: false, skip: false, abort: false },
  });

function renderView() {
  return renderWithRunbooksApi(<ExecutionView id="x1" showHeader />, api);
}

const status = () => screen.getByTestId('view-status');

describe('ExecutionView', () => {
  beforeEach(() => {
    server.use(
      rest.get(`${base}/executions/x1/summary`, (_req, res, ctx) =>
        res(
          ctx.json(
            summaryFixture(
              'x1',
              '## Done\n\nScaled **checkout** to 3 replicas.',
              '2026-11-25T02:00:06.000Z',
            ),
          ),
        ),
      ),
    );
  });

  describe('live updates', () => {
    it('follows the event stream until the execution ends, then shows the summary', async () => {
      let ended = false;
      let send = () => {};
      const sent = new Promise<void>(resolve => {
        send = resolve;
      });
      const gets: number[] = [];
      const streams: Array<{
        lastEventId: string | null;
        accept: string | null;
      }> = [];
      server.use(
        rest.get(`${base}/executions/x1`, (_req, res, ctx) => {
          gets.push(Date.now());
          return res(ctx.json(ended ? succeeded : details()));
        }),
        rest.get(`${base}/executions/x1/events`, async (req, res, ctx) => {
          streams.push({
            lastEventId: req.headers.get('last-event-id'),
            accept: req.headers.get('accept'),
          });
          await sent;
          ended = true;
          return res(
            ctx.set('content-type', 'text/event-stream'),
            ctx.body(`: stream of execution events\n\n${sse(stepSucceeded)}`),
          );
        }),
      );
      await renderView();

      expect(
        await screen.findByRole('heading', {
          name: 'scale-deployment on checkout',
        }),
      ).toBeInTheDocument();
      expect(screen.getByRole('link', { name: 'checkout' })).toHaveAttribute(
        'href',
        '/catalog/default/component/checkout',
      );
      expect(status()).toHaveTextContent('running');
      // the stream is requested, the server has not answered yet
      await waitFor(() =>
        expect(screen.getByTestId('live-state')).toHaveTextContent(
          'Connecting…',
        ),
      );
      expect(screen.queryByTestId('summary')).not.toBeInTheDocument();

      // the server sends the event: nobody clicks anything
      send();
      await waitFor(() => expect(status()).toHaveTextContent('succeeded'));
      // the step chip follows too
      expect(
        within(screen.getByTestId('step-scale')).getByTestId('step-status'),
      ).toHaveTextContent('succeeded');

      const log = screen.getByTestId('event-log');
      expect(within(log).getAllByRole('listitem')).toHaveLength(5);
      expect(log).toHaveTextContent(/step-succeeded · step 2$/);
      expect(
        screen.getByText('Event log (5 events)', { exact: false }),
      ).toBeInTheDocument();

      // resumed after the last event the page already had
      expect(streams).toEqual([
        { lastEventId: '4', accept: 'text/event-stream' },
      ]);

      const summary = await screen.findByTestId('summary');
      // the markdown renders as markup
      expect(
        await within(summary).findByRole('heading', { name: 'Done' }),
      ).toBeInTheDocument();
      expect(within(summary).getByText('checkout').tagName).toBe('STRONG');
      expect(summary).toHaveTextContent('Scaled checkout to 3 replicas.');
      expect(summary).toHaveTextContent('(from the record)');
      expect(screen.getByTestId('live-state')).toHaveTextContent(/^$/);
      expect(gets.length).toBeGreaterThanOrEqual(2);
    });

    it('reconnects after a failed stream and resumes from the last event', async () => {
      let ended = false;
      const lastEventIds: Array<string | null> = [];
      server.use(
        rest.get(`${base}/executions/x1`, (_req, res, ctx) =>
          res(ctx.json(ended ? succeeded : details())),
        ),
        rest.get(`${base}/executions/x1/events`, (req, res, ctx) => {
          lastEventIds.push(req.headers.get('last-event-id'));
          if (lastEventIds.length === 1) {
            return res(ctx.status(500), ctx.json({ error: { message: 'x' } }));
          }
          ended = true;
          return res(
            ctx.set('content-type', 'text/event-stream'),
            ctx.body(sse(stepSucceeded)),
          );
        }),
      );
      await renderView();

      expect(
        await screen.findByText('Connection lost: reconnecting…'),
      ).toBeInTheDocument();
      expect(status()).toHaveTextContent('running');

      // after the first backoff (1 s)
      await waitFor(() => expect(status()).toHaveTextContent('succeeded'), {
        timeout: 3000,
      });
      expect(screen.getByTestId('event-log')).toHaveTextContent(
        'step-succeeded · step 2',
      );
      expect(lastEventIds).toEqual(['4', '4']);
      expect(
        screen.queryByText('Connection lost: reconnecting…'),
      ).not.toBeInTheDocument();
    });

    it('stops, and says why, when the stream is refused for good (403)', async () => {
      const streamed = jest.fn();
      server.use(
        rest.get(`${base}/executions/x1`, (_req, res, ctx) =>
          res(ctx.json(details())),
        ),
        rest.get(`${base}/executions/x1/events`, (_req, res, ctx) => {
          streamed();
          return replyError(
            res,
            ctx,
            403,
            'NotAllowedError',
            'You may not read execution x1',
          );
        }),
      );
      await renderView();
      expect(
        await screen.findByText('You may not read execution x1'),
      ).toBeInTheDocument();
      expect(screen.getByTestId('live-state')).toHaveTextContent(/^$/);
      // no reconnect after the first backoff either
      await new Promise(resolve => setTimeout(resolve, 1500));
      expect(streamed).toHaveBeenCalledTimes(1);
    });

    it('does not follow an execution that has already ended', async () => {
      const streamed = jest.fn();
      serve(succeeded);
      server.use(
        rest.get(`${base}/executions/x1/events`, (_req, res, ctx) => {
          streamed();
          return res(ctx.status(500));
        }),
      );
      await renderView();
      expect(await screen.findByTestId('summary')).toBeInTheDocument();
      expect(status()).toHaveTextContent('succeeded');
      expect(screen.getByTestId('live-state')).toHaveTextContent(/^$/);
      expect(streamed).not.toHaveBeenCalled();
    });
  });

  describe('actions', () => {
    beforeEach(() => server.use(quietStream));

    it('shows only the actions the viewer may take, and cancels after confirming', async () => {
      const posts = serveActions(cancellable(), {
        ...execution,
        status: 'cancelled',
      });
      await renderView();

      const cancel = await screen.findByRole('button', {
        name: 'Cancel execution',
      });
      for (const name of [
        'Resume (retry the step)',
        'Skip the step',
        'Abort',
      ]) {
        expect(screen.queryByRole('button', { name })).not.toBeInTheDocument();
      }

      fireEvent.click(cancel);
      const dialog = await screen.findByRole('dialog');
      expect(dialog).toHaveTextContent(
        'Cancel this execution? A step that is applying finishes first; nothing after it runs.',
      );
      expect(posts).toEqual([]);
      fireEvent.click(
        within(dialog).getByRole('button', { name: 'Cancel execution' }),
      );
      await waitFor(() => expect(posts).toEqual(['cancel']));
    });

    it('goes back without posting when the viewer does not confirm', async () => {
      const posts = serveActions(cancellable());
      await renderView();
      fireEvent.click(
        await screen.findByRole('button', { name: 'Cancel execution' }),
      );
      fireEvent.click(
        within(await screen.findByRole('dialog')).getByRole('button', {
          name: 'Back',
        }),
      );
      await waitFor(() =>
        expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
      );
      expect(posts).toEqual([]);
    });

    it('resolves an execution that needs attention: skip the step', async () => {
      const onChange = jest.fn();
      const posts = serveActions(
        details({
          execution: {
            status: 'needs-attention',
            statusMessage: 'Step scale failed: timed out',
          },
          actions: { cancel: false, resume: true, skip: true, abort: true },
        }),
      );
      await renderWithRunbooksApi(
        <ExecutionView id="x1" onChange={onChange} />,
        api,
      );

      expect(
        await screen.findByText('Step scale failed: timed out'),
      ).toBeInTheDocument();
      expect(
        screen.getByRole('button', { name: 'Resume (retry the step)' }),
      ).toBeInTheDocument();
      expect(screen.getByRole('button', { name: 'Abort' })).toBeInTheDocument();
      expect(
        screen.queryByRole('button', { name: 'Cancel execution' }),
      ).not.toBeInTheDocument();

      fireEvent.click(screen.getByRole('button', { name: 'Skip the step' }));
      const dialog = await screen.findByRole('dialog');
      expect(dialog).toHaveTextContent(
        'Skip the step that needs attention and go on with the next one?',
      );
      fireEvent.click(
        within(dialog).getByRole('button', { name: 'Skip the step' }),
      );
      await waitFor(() => expect(posts).toEqual(['skip']));
      await waitFor(() => expect(onChange).toHaveBeenCalledTimes(1));
    });

    it('shows no action buttons when the viewer may take none', async () => {
      serve(details({ execution: { status: 'needs-attention' } }));
      await renderView();
      await screen.findByTestId('step-scale');
      for (const name of [
        'Cancel execution',
        'Resume (retry the step)',
        'Skip the step',
        'Abort',
      ]) {
        expect(screen.queryByRole('button', { name })).not.toBeInTheDocument();
      }
    });

    it('says why the backend refused an action', async () => {
      serve(cancellable());
      server.use(
        rest.post(`${base}/executions/x1/cancel`, (_req, res, ctx) =>
          replyError(
            res,
            ctx,
            409,
            'ConflictError',
            'Execution x1 has already ended',
          ),
        ),
      );
      await renderView();
      fireEvent.click(
        await screen.findByRole('button', { name: 'Cancel execution' }),
      );
      fireEvent.click(
        within(await screen.findByRole('dialog')).getByRole('button', {
          name: 'Cancel execution',
        }),
      );
      expect(await screen.findByRole('alert')).toHaveTextContent(
        'Execution x1 has already ended',
      );
    });
  });

  describe('approval gate', () => {
    beforeEach(() => server.use(quietStream));

    const waiting = (canApprove: boolean, requester: string) =>
      details({
        execution: { status: 'waiting-approval', requester },
        steps: [
          readStep,
          {
            ...scaleStep,
            status: 'waiting-approval',
            phase: 'planned',
            plan: { objectCount: 1 },
            planDigest,
          },
        ],
        gate: {
          stepIndex: 1,
          stepId: 'scale',
          planDigest,
          expiresAt: '2026-11-25T03:00:00.000Z',
          required: 1,
          approvals: [],
          ownerApprovalFrom: [],
          missing: ['1 approval'],
          canApprove,
        },
      });

    it('tells the requester that another person must approve (four-eyes rule)', async () => {
      serve(waiting(false, viewer));
      await renderView();
      const gate = await screen.findByTestId('gate-scale');
      expect(
        await within(gate).findByText(
          'You requested this execution, so another person must approve it (four-eyes rule).',
        ),
      ).toBeInTheDocument();
      expect(gate).toHaveTextContent(
        'Waits for 1 approval of plan sha256:0123456789ab by a person other than guest.',
      );
      expect(
        screen.queryByRole('button', { name: /^Approve the plan of/ }),
      ).not.toBeInTheDocument();
      expect(
        screen.queryByRole('button', { name: /^Reject the plan of/ }),
      ).not.toBeInTheDocument();
    });

    it('approves the plan with a comment', async () => {
      const decisions: Array<{ path: string; body: unknown }> = [];
      serve(waiting(true, 'user:default/alice'));
      server.use(
        rest.post(
          `${base}/executions/x1/steps/:index/decision`,
          async (req, res, ctx) => {
            decisions.push({ path: req.url.pathname, body: await req.json() });
            return res(ctx.json(execution));
          },
        ),
      );
      await renderView();
      const gate = await screen.findByTestId('gate-scale');
      expect(gate).not.toHaveTextContent('four-eyes');
      fireEvent.change(within(gate).getByLabelText('Comment'), {
        target: { value: '  fine by me  ' },
      });
      fireEvent.click(
        within(gate).getByRole('button', { name: /^Approve the plan of/ }),
      );
      await waitFor(() =>
        expect(decisions).toEqual([
          {
            path: '/api/runbooks/executions/x1/steps/1/decision',
            body: { decision: 'approved', planDigest, comment: 'fine by me' },
          },
        ]),
      );
    });
  });

  describe('plans, provenance and decisions', () => {
    const diff = [
      '--- a/deployment/checkout',
      '+++ b/deployment/checkout',
      '@@ -1,3 +1,3 @@',
      ' kind: Deployment',
      '-replicas: 2',
      '+replicas: 3',
    ].join('\n');

    const withDiff = (planDiff: string) =>
      details({
        execution: {
          status: 'succeeded',
          finishedAt: succeeded.execution.finishedAt,
        },
        steps: [
          readStep,
          {
            ...scaleStep,
            status: 'succeeded',
            phase: undefined,
            plan: { objectCount: 1, diff: planDiff },
            planDigest,
          },
        ],
      });

    it('shows the plan diff unified, then side by side', async () => {
      serve(withDiff(diff));
      await renderView();
      const unified = await screen.findByRole('table', {
        name: 'plan diff (unified)',
      });
      const rows = within(unified)
        .getAllByRole('row')
        .map(r => r.textContent);
      expect(rows).toEqual([
        '--- a/deployment/checkout',
        '+++ b/deployment/checkout',
        '@@ -1,3 +1,3 @@',
        ' kind: Deployment',
        '-replicas: 2',
        '+replicas: 3',
      ]);
      expect(
        screen.getByText('Plan: 1 object(s), sha256:0123456789ab'),
      ).toBeInTheDocument();

      fireEvent.click(screen.getByRole('button', { name: 'Side by side' }));
      expect(
        screen.queryByRole('table', { name: 'plan diff (unified)' }),
      ).not.toBeInTheDocument();
      const split = screen.getByRole('table', {
        name: 'plan diff (before and after)',
      });
      const cells = within(split)
        .getAllByRole('row')
        .map(r =>
          Array.from(r.querySelectorAll('th,td')).map(c => c.textContent),
        );
      expect(cells).toEqual([
        ['before', 'after'],
        ['--- a/deployment/checkout'],
        ['+++ b/deployment/checkout'],
        ['@@ -1,3 +1,3 @@'],
        ['kind: Deployment', 'kind: Deployment'],
        ['replicas: 2', 'replicas: 3'],
      ]);
      fireEvent.click(screen.getByRole('button', { name: 'Unified' }));
      expect(
        screen.getByRole('table', { name: 'plan diff (unified)' }),
      ).toBeInTheDocument();
    });

    it('starts a long diff collapsed', async () => {
      const long = Array.from({ length: 100 }, (_, i) => `+line ${i + 1}`).join(
        '\n',
      );
      serve(withDiff(long));
      await renderView();
      const show = await screen.findByRole('button', {
        name: 'Show all 100 lines of the diff',
      });
      expect(show).toHaveAttribute('aria-expanded', 'false');
      const table = screen.getByRole('table', { name: 'plan diff (unified)' });
      expect(within(table).getAllByRole('row')).toHaveLength(40);
      expect(table).not.toHaveTextContent('line 41');

      fireEvent.click(show);
      expect(within(table).getAllByRole('row')).toHaveLength(100);
      expect(table).toHaveTextContent('+line 100');
      expect(
        screen.getByRole('button', { name: 'Collapse diff' }),
      ).toBeInTheDocument();
    });

    it('shows a verified signed record, with its download', async () => {
      serve(
        details({
          ...succeeded,
          provenance: { status: 'verified', statements: 7 },
        }),
      );
      await renderView();
      expect(await screen.findByTestId('provenance-x1')).toHaveTextContent(
        '✓ Signed record verified (7 statements)',
      );
      expect(
        screen.getByRole('button', { name: 'Download signed record' }),
      ).toBeInTheDocument();
    });

    it('shows where a signed record breaks', async () => {
      serve(
        details({
          ...succeeded,
          provenance: brokenProvenanceFixture('the signature does not verify'),
        }),
      );
      await renderView();
      const badge = await screen.findByTestId('provenance-x1');
      expect(badge).toHaveTextContent(
        "✗ Signed record broken at statement 2 (step 2 'scale')",
      );
      expect(badge).toHaveAttribute('title', 'the signature does not verify');
    });

    it("lists the decisions on a step's plan", async () => {
      const decided = '2026-11-25T02:00:03.000Z';
      serve(
        details({
          ...withDiff(diff),
          approvals: [
            {
              stepIndex: 1,
              attempt: 1,
              planDigest,
              decidedBy: 'user:default/bob',
              decision: 'approved',
              comment: 'ship it',
              ownerOf: 'group:default/team-storefront',
              createdAt: decided,
            },
            {
              stepIndex: 1,
              attempt: 1,
              planDigest,
              decidedBy: 'user:default/carol',
              decision: 'rejected',
              createdAt: decided,
            },
          ],
        }),
      );
      await renderView();
      const decisions = within(await screen.findByTestId('step-scale'))
        .getByTestId('decisions')
        .querySelectorAll('p');
      expect(Array.from(decisions).map(d => d.textContent)).toEqual([
        `Approved by bob (for team-storefront) at ${new Date(
          decided,
        ).toLocaleString()} · plan sha256:0123456789ab: “ship it”`,
        `Rejected by carol at ${new Date(
          decided,
        ).toLocaleString()} · plan sha256:0123456789ab`,
      ]);
      expect(
        within(screen.getByTestId('step-read')).queryByTestId('decisions'),
      ).not.toBeInTheDocument();
    });
  });
});
