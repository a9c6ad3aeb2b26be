import { mockCredentials, TestDatabases } from '@backstage/backend-test-utils';
import {
  coreServices,
  createServiceFactory,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { canonicalDigest } from '@runbooks/plugin-runbooks-node';
import { Knex } from 'knex';
import request from 'supertest';
import {
  runExecution,
  startRunbooksTestBackend,
  waitForStatus,
} from '../__testUtils__/backend';
import {
  checkoutEntity,
  newSigningKey,
  replicaTools,
  runbookEntity,
  scaleRunbookEntity,
  statementOf,
} from '../__testUtils__/fixtures';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const alice = mockCredentials.user.header('user:default/alice');
const bob = mockCredentials.user.header('user:default/bob');
const RANGE = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };

const gated = scaleRunbookEntity('gated', { approval: 'always' });

const PARAM_SECRET = 'hunter2-param-secret-7f3a9c';
const GENERATED_SECRET = 'gen-token-5e1d8b2aa0c94f77';

const secrets = runbookEntity('secrets', {
  parameters: { token: { type: 'string', secret: true, minLength: 8 } },
  steps: [
    {
      id: 'echo',
      tool: 'k8s/echo',
      mutates: false,
      input: { header: 'Bearer ${{ parameters.token }}' },
    },
    { id: 'issue', tool: 'k8s/issue', mutates: false, secretOutput: true },
    {
      id: 'use',
      tool: 'k8s/echo',
      mutates: false,
      input: { header: '${{ steps.issue.output.token }}' },
      verify: ["output.header.startsWith('gen-token-')"],
    },
    {
      id: 'set',
      tool: 'k8s/setpw',
      mutates: true,
      dryRun: true,
      input: { password: '${{ steps.issue.output.token }}' },
    },
    {
      id: 'fail',
      tool: 'k8s/fail',
      mutates: false,
      input: {
        a: '${{ parameters.token }}',
        b: '${{ steps.issue.output.token }}',
      },
    },
  ],
});

/** Every log line any plugin writes, with its metadata. */
function capturingRootLogger(lines: string[]) {
  class Capture implements LoggerService {
    constructor(private readonly meta: Record<string, unknown> = {}) {}
    private write(level: string, message: string, meta?: unknown) {
      lines.push(
        JSON.stringify({
          level,
          message,
          meta: String(meta ?? ''),
          ...this.meta,
        }),
      );
    }
    error(message: string, meta?: Error | any) {
      this.write('error', message, meta?.stack ?? JSON.stringify(meta));
    }
    warn(message: string, meta?: Error | any) {
      this.write('warn', message, meta?.stack ?? JSON.stringify(meta));
    }
    info(message: string, meta?: Error | any) {
      this.write('info', message, JSON.stringify(meta));
    }
    debug(message: string, meta?: Error | any) {
      this.write('debug', message, JSON.stringify(meta));
    }
    child(meta: Record<string, unknown>): LoggerService {
      return new Capture({ ...this.meta, ...meta });
    }
  }
  return createServiceFactory({
    service: coreServices.rootLogger,
    deps: {},
    factory: () => new Capture(),
  });
}

async function startBackend(options: {
  knex?: Knex;
  provenance?: Record<string, string | string[]>;
  logLines?: string[];
}) {
  const state = { replicas: 2, password: 'old-password' };
  return startRunbooksTestBackend({
    entities: [checkoutEntity, gated, secrets],
    tools: {
      ...replicaTools(state),
      'k8s/echo': {
        description: { annotations: { readOnlyHint: true } },
        run: input => ({ header: input.header }),
      },
      'k8s/issue': {
        description: { annotations: { readOnlyHint: true } },
        run: () => ({ token: GENERATED_SECRET }),
      },
      'k8s/setpw': {
        // a careless tool: its plan, snapshot and output all show the value
        plan: input => ({
          changes: [{ action: 'update', to: input.password }],
          objectCount: 1,
        }),
        run: input => {
          state.password = String(input.password);
          return { pw: input.password };
        },
        snapshot: () => ({ pw: state.password }),
      },
      'k8s/fail': {
        description: { annotations: { readOnlyHint: true } },
        run: input => {
          throw new Error(`upstream refused ${input.a} and ${input.b}`);
        },
      },
    },
    knex: options.knex,
    features: options.logLines ? [capturingRootLogger(options.logLines)] : [],
    config: options.provenance ? { provenance: options.provenance } : {},
  });
}

const statementsOf = (jsonl: string) =>
  jsonl.trim().split('\n').map(statementOf);

describe('signed provenance through the API', () => {
  it('signs a dry-run and an approved execution, and the badge and report say verified', async () => {
    const { server } = await startBackend({
      provenance: { signingKey: newSigningKey().privatePem },
    });
    const dry = await runExecution(server, 'gated', { replicas: 3 }, 'dry-run');
    const dryDone = await waitForStatus(server, dry, ['succeeded']);
    expect(dryDone.provenance).toEqual({ status: 'verified', statements: 3 });

    const id = await runExecution(server, 'gated', { replicas: 4 }, 'execute');
    const waiting = await waitForStatus(server, id, ['waiting-approval']);
    // a step that waits has not ended: the chain so far holds only the read step
    expect(waiting.provenance).toEqual({ status: 'open', statements: 1 });
    const planDigest = waiting.gate.planDigest;
    const decided = await request(server)
      .post(`/api/runbooks/executions/${id}/steps/1/decision`)
      .set('authorization', bob)
      .send({ decision: 'approved', planDigest, comment: 'ok' });
    expect(decided.status).toBe(200);
    const done = await waitForStatus(server, id, ['succeeded']);
    expect(done.provenance).toEqual({ status: 'verified', statements: 3 });
    // the events that record a step's end carry its statement
    expect(
      done.events.find(
        (e: any) => e.type === 'step-succeeded' && e.payload.step === 1,
      ).payload.statement,
    ).toEqual({ sequence: 2, digest: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const report = await request(server)
      .get(`/api/runbooks/executions/${id}/provenance`)
      .set('authorization', alice);
    expect(report.body).toMatchObject({
      status: 'verified',
      checkpoint: 'matches',
      statements: 3,
    });
    expect(
      report.body.entries.map((e: any) => [
        e.kind,
        e.stepId,
        e.signature,
        e.chain,
        e.record,
      ]),
    ).toEqual([
      ['step', 'read', 'valid', 'intact', 'matches'],
      ['step', 'scale', 'valid', 'intact', 'matches'],
      ['checkpoint', undefined, 'valid', 'intact', undefined],
    ]);

    const bundles = await request(server)
      .get(`/api/runbooks/executions/${id}/bundles`)
      .set('authorization', alice);
    expect(bundles.headers['content-type']).toContain('application/x-ndjson');
    const [read, scale, checkpoint] = statementsOf(bundles.text);
    expect(read.predicate).toMatchObject({
      sequence: 1,
      previousStatementDigest: null,
      requester: 'user:default/alice',
      runbook: { ref: 'runbook:default/gated' },
      entity: { ref: 'component:default/checkout' },
      step: { index: 0, id: 'read', mutates: false, dryRun: false },
      tool: { server: 'k8s', name: 'get' },
      status: 'succeeded',
    });
    expect(scale.predicate).toMatchObject({
      sequence: 2,
      step: { id: 'scale', mutates: true, dryRun: false },
      planDigest,
      approvals: [
        {
          approver: 'user:default/bob',
          decision: 'approved',
          planDigest,
          time: expect.any(String),
        },
      ],
      parametersDigest: canonicalDigest({ replicas: 4 }),
    });
    expect(checkpoint.predicate).toMatchObject({
      sequence: 3,
      count: 2,
      status: 'succeeded',
    });
    expect(checkpoint.predicate.headDigest).toBe(
      checkpoint.predicate.previousStatementDigest,
    );

    // the dry-run's mutating step is marked as only planned
    const dryStatements = statementsOf(
      (
        await request(server)
          .get(`/api/runbooks/executions/${dry}/bundles`)
          .set('authorization', alice)
      ).text,
    );
    expect(dryStatements[1].predicate.step).toMatchObject({
      id: 'scale',
      dryRun: true,
    });

    // the audit export holds both executions, the summary one row each with the approver
    const jsonl = await request(server)
      .get('/api/runbooks/audit/bundles')
      .query(RANGE)
      .set('authorization', alice);
    expect(jsonl.text.trim().split('\n')).toHaveLength(6);
    const csv = await request(server)
      .get('/api/runbooks/audit/summary')
      .query(RANGE)
      .set('authorization', alice);
    const rows = csv.text.trim().split('\r\n');
    expect(rows[0]).toBe(
      'execution,runbook,entity,mode,requester,approvers,start,end,outcome,statements',
    );
    expect(
      rows
        .slice(1)
        .map(r => r.split(',')[0])
        .sort(),
    ).toEqual([dry, id].sort());
    expect(rows.find(r => r.startsWith(id))).toContain(
      ',execute,user:default/alice,user:default/bob,',
    );
    const bad = await request(server)
      .get('/api/runbooks/audit/summary')
      .query({ from: RANGE.to, to: RANGE.from })
      .set('authorization', alice);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('from must be before to');
  });

  it('reports every stored record changed after it was signed, at the right link', async () => {
    const knex = await databases.init('SQLITE_3');
    const { server } = await startBackend({
      knex,
      provenance: { signingKey: newSigningKey().privatePem },
    });
    const id = await runExecution(server, 'gated', { replicas: 4 }, 'execute');
    const waiting = await waitForStatus(server, id, ['waiting-approval']);
    await request(server)
      .post(`/api/runbooks/executions/${id}/steps/1/decision`)
      .set('authorization', bob)
      .send({ decision: 'approved', planDigest: waiting.gate.planDigest });
    await waitForStatus(server, id, ['succeeded']);
    const report = async () =>
      (
        await request(server)
          .get(`/api/runbooks/executions/${id}/provenance`)
          .set('authorization', alice)
      ).body;
    expect((await report()).status).toBe('verified');

    const tables = [
      'executions',
      'step_runs',
      'approvals',
      'execution_statements',
    ];
    const column = (t: string) => (t === 'executions' ? 'id' : 'execution_id');
    const snapshot = Object.fromEntries(
      await Promise.all(
        tables.map(async t => [t, await knex(t).where(column(t), id)] as const),
      ),
    );
    const restore = async () => {
      for (const t of [...tables].reverse()) {
        if (t !== 'executions') await knex(t).where(column(t), id).delete();
      }
      await knex('executions').where({ id }).update(snapshot.executions[0]);
      for (const t of tables.slice(1)) {
        if (snapshot[t].length > 0) await knex(t).insert(snapshot[t]);
      }
    };
    const execution = () => knex('executions').where({ id });
    const cases: Array<[string, () => Promise<unknown>, number, string]> = [
      [
        'a step output',
        () =>
          knex('step_runs')
            .where({ execution_id: id, step_index: 1 })
            .update({ output: JSON.stringify({ replicas: 99 }) }),
        2,
        "the stored record of step 2 'scale' is not the one this statement signed",
      ],
      [
        'who approved',
        () =>
          knex('approvals')
            .where({ execution_id: id })
            .update({ decided_by: 'user:default/mallory' }),
        2,
        "the stored decisions on step 2 'scale' (approved by user:default/mallory) are not the signed ones (approved by user:default/bob)",
      ],
      [
        'the requester',
        () => execution().update({ requester: 'user:default/mallory' }),
        1,
        'requester is user:default/mallory, signed user:default/alice',
      ],
      [
        'the mode',
        () => execution().update({ mode: 'dry-run' }),
        1,
        'mode is dry-run, signed execute',
      ],
      [
        'the parameters',
        () =>
          execution().update({ parameters: JSON.stringify({ replicas: 20 }) }),
        1,
        'parameters digest is',
      ],
      [
        'the runbook content',
        () =>
          execution().update({
            runbook_content: JSON.stringify({
              ...JSON.parse(snapshot.executions[0].runbook_content),
              spec: { steps: [] },
            }),
          }),
        1,
        'the stored runbook content does not have the signed digest',
      ],
      [
        'when it finished',
        () =>
          execution().update({ finished_at: new Date('2001-01-01T00:00:00Z') }),
        3,
        'finished at is 2001-01-01T00:00:00.000Z',
      ],
      [
        'an ended execution made open again',
        () =>
          execution().update({ status: 'needs-attention', finished_at: null }),
        3,
        'the chain was closed when the execution ended (succeeded), but it is stored as needs-attention',
      ],
      [
        'a finished step made pending again',
        () =>
          knex('step_runs')
            .where({ execution_id: id, step_index: 0 })
            .update({ status: 'pending', output: null, finished_at: null }),
        1,
        "step 1 'read' was signed as succeeded but is stored as pending",
      ],
      [
        'every statement deleted',
        () => knex('execution_statements').where({ execution_id: id }).delete(),
        1,
        'no signed statement of it exists: they were deleted',
      ],
    ];
    const missed: string[] = [];
    for (const [what, tamper, position, message] of cases) {
      await tamper();
      const r = await report();
      if (
        r.status !== 'broken' ||
        r.firstBroken?.position !== position ||
        !r.firstBroken?.problem.includes(message)
      ) {
        missed.push(`${what}: ${JSON.stringify(r.firstBroken ?? r.status)}`);
      }
      await restore();
      expect((await report()).status).toBe('verified');
    }
    expect(missed).toEqual([]);
  });

  it('cancels the step that did not finish, not a stale current step, and signs it', async () => {
    const knex = await databases.init('SQLITE_3');
    const { server } = await startBackend({
      knex,
      provenance: { signingKey: newSigningKey().privatePem },
    });
    const id = await runExecution(server, 'gated', { replicas: 4 }, 'execute');
    await waitForStatus(server, id, ['waiting-approval']);
    // a stale current_step, the step mid-apply when its worker stopped (the worker leaves
    // needs-attention executions alone, so nothing races the cancel)
    await knex('executions')
      .where({ id })
      .update({ status: 'needs-attention', current_step: 0 });
    await knex('step_runs')
      .where({ execution_id: id, step_index: 1 })
      .update({ status: 'running', phase: 'apply' });
    const cancelled = await request(server)
      .post(`/api/runbooks/executions/${id}/cancel`)
      .set('authorization', alice);
    expect(cancelled.status).toBe(200);
    const details = await waitForStatus(server, id, ['cancelled']);
    expect(details.steps.map((s: any) => s.status)).toEqual([
      'succeeded',
      'cancelled',
    ]);
    expect(details.execution.statusMessage).toContain(
      "step 'scale' was applying when its worker stopped",
    );
    expect(details.provenance).toEqual({ status: 'verified', statements: 3 });
  });

  it('keeps statements of a retired key verifiable after a rotation', async () => {
    const knex = await databases.init('SQLITE_3');
    const oldKey = newSigningKey();
    const first = await startBackend({
      knex,
      provenance: { signingKey: oldKey.privatePem },
    });
    const before = await runExecution(
      first.server,
      'gated',
      { replicas: 3 },
      'dry-run',
    );
    await waitForStatus(first.server, before, ['succeeded']);
    await first.backend.stop();

    const oldPublic = oldKey.publicPem;
    const second = await startBackend({
      knex,
      provenance: {
        signingKey: newSigningKey().privatePem,
        trustedKeys: [oldPublic],
      },
    });
    const after = await runExecution(
      second.server,
      'gated',
      { replicas: 5 },
      'dry-run',
    );
    await waitForStatus(second.server, after, ['succeeded']);
    const keys = await request(second.server)
      .get('/api/runbooks/provenance/keys')
      .set('authorization', alice);
    expect(keys.body.keys.map((k: any) => k.current)).toEqual([true, false]);
    const reportOf = async (server: any, id: string) =>
      (
        await request(server)
          .get(`/api/runbooks/executions/${id}/provenance`)
          .set('authorization', alice)
      ).body;
    const oldReport = await reportOf(second.server, before);
    const newReport = await reportOf(second.server, after);
    expect(oldReport.status).toBe('verified');
    expect(newReport.status).toBe('verified');
    expect(oldReport.keyHints).toEqual([keys.body.keys[1].hint]);
    expect(newReport.keyHints).toEqual([keys.body.keys[0].hint]);
    await second.backend.stop();

    // without the retired key, its statements no longer verify, and the report says why
    const third = await startBackend({
      knex,
      provenance: { signingKey: newSigningKey().privatePem },
    });
    const untrusted = await reportOf(third.server, before);
    expect(untrusted.status).toBe('broken');
    expect(untrusted.firstBroken.position).toBe(1);
    expect(untrusted.firstBroken.problem).toContain('not trusted');
  });

  it('never lets a secret parameter or a secret output into a statement, event, log line or export', async () => {
    const logLines: string[] = [];
    const knex = await databases.init('SQLITE_3');
    const { server, invoker } = await startBackend({
      knex,
      logLines,
      provenance: { signingKey: newSigningKey().privatePem },
    });
    const id = await runExecution(
      server,
      'secrets',
      { token: PARAM_SECRET },
      'execute',
    );
    const details = await waitForStatus(server, id, ['failed']);

    // the secrets were really used: the tools got them, the engine kept what it needs to run
    const calls = JSON.stringify(invoker.calls);
    expect(calls).toContain(PARAM_SECRET);
    expect(calls).toContain(GENERATED_SECRET);
    expect(details.steps.map((s: any) => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
      'failed',
    ]);
    expect(details.steps[1].output).toEqual({
      withheld: 'secret output: not stored',
    });
    expect(details.steps[4].error).toContain('upstream refused *** and ***');
    expect(details.steps[3].plan.changes[0].to).toBe('***');
    expect(logLines.length).toBeGreaterThan(0);

    const bundles = await request(server)
      .get(`/api/runbooks/executions/${id}/bundles`)
      .set('authorization', alice);
    const statements = statementsOf(bundles.text);
    expect(statements).toHaveLength(6);
    expect(statements[0].predicate.secretParameters).toEqual(['token']);
    const exported = await request(server)
      .get('/api/runbooks/audit/bundles')
      .query(RANGE)
      .set('authorization', alice);
    const csv = await request(server)
      .get('/api/runbooks/audit/summary')
      .query(RANGE)
      .set('authorization', alice);
    const events = await knex('execution_events').where({ execution_id: id });
    const stored = await knex('execution_statements').where({
      execution_id: id,
    });
    const storedSteps = await knex('step_runs').where({ execution_id: id });

    const places: Record<string, string> = {
      statements: JSON.stringify(statements),
      'stored bundles': JSON.stringify(stored),
      'stored events': JSON.stringify(events),
      'execution API': JSON.stringify(details),
      'export JSONL': exported.text,
      'export CSV': csv.text,
      'log lines': logLines.join('\n'),
      'stored step outputs, plans, snapshots, diffs and errors': JSON.stringify(
        storedSteps.map(s => [
          s.output,
          s.plan,
          s.before,
          s.after,
          s.diff,
          s.blast_radius,
          s.error,
        ]),
      ),
    };
    const leaks = Object.entries(places).flatMap(([place, text]) =>
      [PARAM_SECRET, GENERATED_SECRET]
        .filter(secret => text.includes(secret))
        .map(secret => `${secret} in ${place}`),
    );
    expect(leaks).toEqual([]);
  });
});
