import { MockFetchApi, registerMswTestHooks } from '@backstage/test-utils';
import { rest } from 'msw';
import { setupServer } from 'msw/node';
import { RunbooksClient } from './RunbooksApi';

const server = setupServer();
registerMswTestHooks(server);

const base = 'http://backend.test/api/runbooks';
const client = new RunbooksClient({
  discoveryApi: { getBaseUrl: async () => base },
  fetchApi: new MockFetchApi(),
});

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
          ctx.json({
            executionId: 'e/1',
            text: '# Scaled checkout',
            by: 'template',
            createdAt: '2026-11-28T02:00:00.000Z',
          }),
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
        res(
          ctx.status(403),
          ctx.json({
            error: { name: 'NotAllowedError', message: 'Not allowed' },
            request: { method: 'POST', url: '/proposals/p1/start' },
            response: { statusCode: 403 },
          }),
        ),
      ),
    );
    await expect(client.startProposal('p1', 'dry-run')).rejects.toMatchObject({
      name: 'ResponseError',
      statusCode: 403,
    });
  });
});
