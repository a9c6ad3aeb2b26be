import { rest } from 'msw';
import {
  replyError,
  setupRunbooksServer,
  summaryFixture,
} from '../__testUtils__';

const { server, base, api: client } = setupRunbooksServer();

describe('RunbooksClient agent calls', () => {
  it('lists proposals of some statuses and reads an execution summary', async () => {
    const queries: string[] = [];
    server.use(
      rest.get(`${base}/proposals`, (req, res, ctx) => {
        queries.push(req.url.search);
        return res(ctx.json({ items: [] }));
      }),
      rest.get(`${base}/executions/e%2F1/summary`, (_req, res, ctx) =>
        res(
          ctx.json(
            summaryFixture(
              'e/1',
              '# Scaled checkout',
              '2026-11-28T02:00:00.000Z',
            ),
          ),
        ),
      ),
    );
    await client.listProposals('component:default/checkout', [
      'pending',
      'started',
    ]);
    await client.listProposals('component:default/checkout');
    expect(queries).toEqual([
      '?entityRef=component%3Adefault%2Fcheckout&status=pending%2Cstarted',
      '?entityRef=component%3Adefault%2Fcheckout',
    ]);
    await expect(client.getExecutionSummary('e/1')).resolves.toMatchObject({
      text: '# Scaled checkout',
      by: 'template',
    });
  });

  it('turns a refused start into a ResponseError with the status', async () => {
    server.use(
      rest.post(`${base}/proposals/p1/start`, (_req, res, ctx) =>
        replyError(res, ctx, 403, 'NotAllowedError', 'Not allowed'),
      ),
    );
    await expect(client.startProposal('p1', 'dry-run')).rejects.toMatchObject({
      name: 'ResponseError',
      statusCode: 403,
    });
  });
});
