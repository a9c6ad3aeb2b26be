import { MiddlewareFactory } from '@backstage/backend-defaults/rootHttpRouter';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import express from 'express';
import http from 'node:http';
import request from 'supertest';
import {
  requestExecution,
  startRunbooksTestBackend,
  waitForStatus,
} from '../__testUtils__/backend';
import {
  checkoutEntity,
  readStep,
  replicasParameter,
  replicaTools,
  runbookEntity,
  scaleRunbookEntity,
  scaleStep,
} from '../__testUtils__/fixtures';

jest.setTimeout(30_000);

const alice = mockCredentials.user.header('user:default/alice');
const bob = mockCredentials.user.header('user:default/bob');

const scale = scaleRunbookEntity();

const gated = runbookEntity('gated', {
  parameters: replicasParameter,
  steps: [{ ...scaleStep, approval: 'always' }],
});

const guarded = runbookEntity('guarded', {
  parameters: replicasParameter,
  preconditions: [
    {
      expression: 'steps.read.output.replicas != parameters.replicas',
      message: 'The deployment already runs that many replicas.',
    },
  ],
  steps: [readStep, scaleStep],
});

/** The same precondition, with a first change that lets the execution go on when it fails. */
const guardedLenient = runbookEntity('guarded-lenient', {
  parameters: replicasParameter,
  preconditions: ['steps.read.output.replicas != parameters.replicas'],
  steps: [
    readStep,
    { ...scaleStep, onFailure: 'continue' },
    { ...scaleStep, id: 'scale-again' },
  ],
});

const withSecret = runbookEntity('with-secret', {
  parameters: { token: { type: 'string', secret: true, minLength: 8 } },
  steps: [
    {
      id: 'read',
      tool: 'k8s/get',
      mutates: false,
      input: { header: 'Bearer ${{ parameters.token }}' },
    },
  ],
});

async function startBackend() {
  const state = { replicas: 2 };
  const { server, invoker } = await startRunbooksTestBackend({
    entities: [
      checkoutEntity,
      scale,
      gated,
      guarded,
      guardedLenient,
      withSecret,
    ],
    tools: replicaTools(state),
  });
  return { server, state, invoker };
}

/** Reads an execution's event stream until the server ends it. */
function readStream(server: any, id: string, lastEventId?: string) {
  let req = request(server)
    .get(`/api/runbooks/executions/${id}/events`)
    .set('Authorization', alice);
  if (lastEventId) req = req.set('Last-Event-ID', lastEventId);
  return req.buffer(true).parse((res, done) => {
    let text = '';
    res.on('data', (chunk: Buffer) => (text += chunk.toString()));
    res.on('end', () => done(null, text));
  });
}

describe('the executions API', () => {
  it('streams events as they happen, uncompressed, while the execution still waits', async () => {
    const { server } = await startBackend();
    const created = await requestExecution(server, {
      runbookRef: 'runbook:default/gated',
      entityRef: 'component:default/checkout',
      parameters: { replicas: 3 },
      mode: 'execute',
    });
    await waitForStatus(server, created.body.id, ['waiting-approval']);
    // the production backend compresses responses (the test backend does not): the same
    // middleware in front of the plugin, as a pass-through
    const app = express();
    app.use(
      MiddlewareFactory.create({
        config: mockServices.rootConfig(),
        logger: mockServices.logger.mock(),
      }).compression(),
    );
    app.use((req, res) => {
      const upstream = http.request(
        {
          port: (server.address() as { port: number }).port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        answer => {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.on('data', chunk => {
            res.write(chunk);
          });
          answer.on('end', () => res.end());
        },
      );
      req.on('close', () => upstream.destroy());
      upstream.end();
    });
    const front = app.listen(0);
    const { port } = front.address() as { port: number };
    // a browser asks for gzip; the compression middleware must not hold the stream back
    const first = await new Promise<{ headers: any; text: string }>(
      (resolve, reject) => {
        const req = http.get(
          `http://127.0.0.1:${port}/api/runbooks/executions/${created.body.id}/events`,
          { headers: { authorization: alice, 'accept-encoding': 'gzip' } },
          res => {
            let text = '';
            res.on('data', chunk => {
              text += chunk.toString();
              if (text.includes('event: approval-requested')) {
                resolve({ headers: res.headers, text });
                req.destroy();
              }
            });
            res.on('end', () => reject(new Error(`stream ended: ${text}`)));
          },
        );
        req.on('error', e => {
          if (!req.destroyed) reject(e);
        });
      },
    );
    front.close();
    expect(first.headers['content-encoding']).toBeUndefined();
    expect(first.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(first.text).toMatch(/^: stream of execution events/);
    const still = await request(server)
      .get(`/api/runbooks/executions/${created.body.id}`)
      .set('Authorization', alice);
    expect(still.body.execution.status).toBe('waiting-approval');
  }, 10_000);

  it('runs a requested execution and reports its steps and events', async () => {
    const { server, state } = await startBackend();
    const created = await requestExecution(server, {
      runbookRef: 'runbook:default/scale',
      entityRef: 'component:default/checkout',
      parameters: { replicas: 6 },
      mode: 'execute',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'queued',
      requester: 'user:default/alice',
      runbookDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    const done = await waitForStatus(server, created.body.id, [
      'succeeded',
      'failed',
    ]);
    expect(done.execution.status).toBe('succeeded');
    expect(done.steps.map((s: any) => s.status)).toEqual([
      'succeeded',
      'succeeded',
    ]);
    expect(done.events.at(-1).type).toBe('succeeded');
    expect(state.replicas).toBe(6);

    const list = await request(server)
      .get(
        '/api/runbooks/executions?entityRef=component:default/checkout&status=succeeded',
      )
      .set('Authorization', alice);
    expect(list.body.items.map((e: any) => e.id)).toEqual([created.body.id]);
  });

  it('stops before any change when a precondition does not hold, saying what it saw', async () => {
    const { server, state, invoker } = await startBackend();
    /** Runs runbook:default/`runbook` on checkout to its end. */
    const runToEnd = async (
      runbook: string,
      replicas: number,
      mode: string,
    ) => {
      const created = await requestExecution(server, {
        runbookRef: `runbook:default/${runbook}`,
        entityRef: 'component:default/checkout',
        parameters: { replicas },
        mode,
      });
      return waitForStatus(server, created.body.id, ['succeeded', 'failed']);
    };
    for (const mode of ['dry-run', 'execute']) {
      const done = await runToEnd('guarded', 2, mode);
      expect(done.execution.status).toBe('failed');
      expect(done.steps.map((s: any) => s.status)).toEqual([
        'succeeded',
        'failed',
      ]);
      expect(done.steps[1].error).toBe(
        "Precondition failed: The deployment already runs that many replicas. (`steps.read.output.replicas != parameters.replicas` is false). It saw steps.read.output.replicas = 2, parameters.replicas = 2; it depends on the state read by step 'read' (the system now) and the parameter 'replicas' (from the request). Nothing was changed.",
      );
    }
    // the scale tool was never asked to plan or apply
    expect(invoker.calls.filter(c => c.tool === 'k8s/scale')).toEqual([]);
    expect(state.replicas).toBe(2);

    // a failed precondition ends the execution even when the step would let it go on
    const stopped = await runToEnd('guarded-lenient', 2, 'execute');
    expect(stopped.execution.status).toBe('failed');
    expect(stopped.steps.map((s: any) => s.status)).toEqual([
      'succeeded',
      'failed',
      'pending',
    ]);
    expect(invoker.calls.filter(c => c.tool === 'k8s/scale')).toEqual([]);

    // with another count the precondition holds and the change goes through
    const done = await runToEnd('guarded', 5, 'execute');
    expect(done.execution.status).toBe('succeeded');
    expect(state.replicas).toBe(5);
  });

  it('never shows the value of a secret parameter', async () => {
    const { server } = await startBackend();
    const created = await requestExecution(server, {
      runbookRef: 'runbook:default/with-secret',
      entityRef: 'component:default/checkout',
      parameters: { token: 's3cr3t-value-42' },
      mode: 'execute',
    });
    expect(created.status).toBe(201);
    expect(created.body.parameters).toEqual({ token: '***' });
    const done = await waitForStatus(server, created.body.id, ['succeeded']);
    expect(done.execution.parameters).toEqual({ token: '***' });
    expect(done.steps[0].input).toEqual({ header: 'Bearer ***' });
    const list = await request(server)
      .get('/api/runbooks/executions')
      .set('Authorization', alice);
    expect(JSON.stringify(list.body)).not.toContain('s3cr3t-value-42');
    expect(JSON.stringify(done)).not.toContain('s3cr3t-value-42');
  });

  it('rejects bad requests with the field named', async () => {
    const { server } = await startBackend();
    const post = (body: object) => requestExecution(server, body);
    const badParams = await post({
      runbookRef: 'runbook:default/scale',
      entityRef: 'component:default/checkout',
      parameters: { replicas: 50, extra: true },
    });
    expect(badParams.status).toBe(400);
    expect(badParams.body.error.message).toMatch(
      /^Invalid parameters for runbook:default\/scale: /,
    );
    expect(badParams.body.error.message).toMatch(/replicas: Too big/);
    expect(badParams.body.error.message).toMatch(/extra/);

    const missing = await post({
      runbookRef: 'runbook:default/nope',
      entityRef: 'component:default/checkout',
    });
    expect(missing.status).toBe(404);

    const shape = await post({ runbook: 'x' });
    expect(shape.status).toBe(400);
    expect(shape.body.error.message).toMatch(/^Invalid execution request: /);

    const list = await request(server)
      .get('/api/runbooks/executions?status=bogus')
      .set('Authorization', alice);
    expect(list.status).toBe(400);
  });

  it('refuses new executions while a kill switch is engaged (409)', async () => {
    const { server } = await startBackend();
    const engaged = await request(server)
      .post('/api/runbooks/kill-switches')
      .set('Authorization', bob)
      .send({
        scope: 'runbook',
        target: 'runbook:default/scale',
        reason: 'bad runbook',
      });
    expect(engaged.status).toBe(201);
    const refused = await requestExecution(server, {
      runbookRef: 'runbook:default/scale',
      entityRef: 'component:default/checkout',
      parameters: { replicas: 3 },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toBe(
      'Refused: the runbook runbook:default/scale kill switch is engaged (by user:default/bob: bad runbook)',
    );
    const released = await request(server)
      .post(`/api/runbooks/kill-switches/${engaged.body.id}/release`)
      .set('Authorization', bob);
    expect(released.body).toMatchObject({ releasedBy: 'user:default/bob' });
    const allowed = await requestExecution(server, {
      runbookRef: 'runbook:default/scale',
      entityRef: 'component:default/checkout',
      parameters: { replicas: 3 },
    });
    expect(allowed.status).toBe(201);
  });

  it('applies the four-eyes rule to decisions', async () => {
    const { server, state } = await startBackend();
    const created = await requestExecution(server, {
      runbookRef: 'runbook:default/gated',
      entityRef: 'component:default/checkout',
      parameters: { replicas: 9 },
      mode: 'execute',
    });
    const waiting = await waitForStatus(server, created.body.id, [
      'waiting-approval',
    ]);
    const digest = waiting.steps[0].planDigest;
    const own = await request(server)
      .post(`/api/runbooks/executions/${created.body.id}/steps/0/decision`)
      .set('Authorization', alice)
      .send({ decision: 'approved', planDigest: digest });
    expect(own.status).toBe(403);
    const approved = await request(server)
      .post(`/api/runbooks/executions/${created.body.id}/steps/0/decision`)
      .set('Authorization', bob)
      .send({ decision: 'approved', planDigest: digest, comment: 'go' });
    expect(approved.status).toBe(200);
    await waitForStatus(server, created.body.id, ['succeeded']);
    expect(state.replicas).toBe(9);
  });

  it('streams events over SSE and resumes after Last-Event-ID', async () => {
    const { server } = await startBackend();
    const created = await requestExecution(server, {
      runbookRef: 'runbook:default/scale',
      entityRef: 'component:default/checkout',
      parameters: { replicas: 4 },
    });
    const stream = await readStream(server, created.body.id);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    const ids = [...(stream.body as string).matchAll(/^id: (\d+)$/gm)].map(m =>
      Number(m[1]),
    );
    const types = [...(stream.body as string).matchAll(/^event: (.+)$/gm)].map(
      m => m[1],
    );
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(types[0]).toBe('created');
    expect(types.at(-1)).toBe('succeeded');

    const resumed = await readStream(server, created.body.id, '3');
    const resumedIds = [
      ...(resumed.body as string).matchAll(/^id: (\d+)$/gm),
    ].map(m => Number(m[1]));
    expect(resumedIds).toEqual(ids.filter(id => id > 3));
  });
});
