import { Knex } from 'knex';
import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError, NotAllowedError } from '@backstage/errors';
import {
  InProcessTool,
  InProcessToolInvoker,
  planDigest,
} from '@runbooks/plugin-runbooks-node';
import {
  createSignedEngine,
  engineManager,
  startEngineWorker,
  validRunbook,
  waitForExecution,
} from '../__testUtils__/engine';
import {
  checkoutEntity as entity,
  readStep,
  replicasParameter as replicasParam,
  scaleStep as plainScaleStep,
} from '../__testUtils__/fixtures';
import { ExecutionEvents } from './ExecutionEvents';
import { KillSwitchEngagedError } from './ExecutionManager';
import { ExecutionStore } from './ExecutionStore';
import { ExecutionWorker } from './ExecutionWorker';
import { ExecutionStatus, TERMINAL_STATUSES } from './types';
import { ProvenanceService } from '../provenance';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });

const runbook = (steps: unknown[], parameters: Record<string, unknown> = {}) =>
  validRunbook('scale', { owner: 'sre', parameters, steps });

const scaleStep = (extra: Record<string, unknown> = {}) => ({
  ...plainScaleStep,
  verify: ['output.replicas == parameters.replicas'],
  ...extra,
});

/** A fake deployment and the tools that act on it. */
function cluster() {
  const state = { replicas: 2 };
  let release: (() => void) | undefined;
  let hangAbortedAt: number | undefined;
  const tools: Record<string, InProcessTool> = {
    'k8s/get': {
      description: { annotations: { readOnlyHint: true } },
      run: () => ({ replicas: state.replicas }),
    },
    'k8s/scale': {
      description: {
        annotations: { destructiveHint: true, idempotentHint: true },
        inputSchema: {
          type: 'object',
          properties: { replicas: { type: 'integer' } },
          required: ['replicas'],
        },
      },
      plan: input =>
        // nothing to change when the deployment already has that many replicas
        state.replicas === input.replicas
          ? { changes: [], objectCount: 0 }
          : {
              changes: [
                {
                  action: 'update',
                  kind: 'Deployment',
                  name: 'checkout',
                  from: state.replicas,
                  to: input.replicas,
                },
              ],
              objectCount: 1,
            },
      run: input => {
        state.replicas = input.replicas as number;
        return { replicas: state.replicas };
      },
      snapshot: () => ({ replicas: state.replicas }),
    },
    'k8s/hang': {
      description: { annotations: { readOnlyHint: true } },
      run: (_input, { signal }) =>
        new Promise((resolve, reject) => {
          release = () => resolve({ done: true });
          signal.addEventListener('abort', () => {
            hangAbortedAt = Date.now();
            reject(new Error('aborted'));
          });
        }),
    },
    'k8s/unsafe-read': {
      description: {},
      run: () => ({}),
    },
  };
  // the same tool without any MCP annotation: the engine must treat it as non-idempotent
  tools['k8s/scale-undeclared'] = {
    ...tools['k8s/scale'],
    description: { inputSchema: tools['k8s/scale'].description!.inputSchema },
  };
  const invoker = new InProcessToolInvoker(tools, planDigest);
  return {
    state,
    invoker,
    release: () => release?.(),
    hangAbortedAt: () => hangAbortedAt,
  };
}

describe.each(databases.eachSupportedId())(
  'the engine on %s',
  (dbId: TestDatabaseId) => {
    let store: ExecutionStore;
    let events: ExecutionEvents;
    let provenance: ProvenanceService;
    let knex: Knex;
    const workers: ExecutionWorker[] = [];

    beforeAll(async () => {
      knex = await databases.init(dbId);
      ({ store, events, provenance } = await createSignedEngine(
        knex,
        'engine-test',
      ));
    });

    afterEach(async () => {
      await Promise.all(workers.splice(0).map(w => w.stop({ graceMs: 100 })));
      for (const s of await store.listKillSwitches()) {
        await store.releaseKillSwitch(s.id, 'test');
      }
      // whatever a test did, every step that ended and every execution that ended is signed
      for (const execution of (await store.listExecutions({}, { limit: 500 }))
        .items) {
        const report = await provenance.verify(execution);
        const ended = TERMINAL_STATUSES.includes(execution.status);
        // eslint-disable-next-line jest/no-standalone-expect
        expect({
          id: execution.id,
          status: ended ? report.status : report.status !== 'broken',
          firstBroken: report.firstBroken,
        }).toEqual({
          id: execution.id,
          status: ended ? 'verified' : true,
          firstBroken: undefined,
        });
      }
      // what a test left runnable (a run its stopped worker could not hand back) must not be
      // picked up by the next test's worker once its lease expires
      await knex('executions').whereIn('status', ['queued', 'running']).update({
        status: 'needs-attention',
        status_message: 'parked between tests',
        lease_owner: null,
        lease_expires_at: null,
      });
    });

    function startWorker(invoker: InProcessToolInvoker, name = 'w1') {
      const worker = startEngineWorker({
        store,
        events,
        tools: invoker,
        workerId: name,
        settings: {
          concurrency: 5,
          leaseMs: 1500,
          heartbeatMs: 300,
          pollMs: 50,
          watchMs: 50,
        },
      });
      workers.push(worker);
      return worker;
    }

    const manager = () =>
      engineManager({ store, events }, () => workers.forEach(w => w.wake()));

    const waitFor = (id: string, statuses: ExecutionStatus[]) =>
      waitForExecution(store, id, statuses);

    const create = (
      rb: ReturnType<typeof runbook>,
      mode: 'execute' | 'dry-run',
      parameters = {},
    ) =>
      manager().create({
        runbook: rb,
        entity,
        parameters,
        requester: 'user:default/alice',
        mode,
      });

    it('runs read and mutating steps: snapshot, dry-run, apply bound to the plan, diff, verify', async () => {
      const { state, invoker } = cluster();
      startWorker(invoker);
      const execution = await create(
        runbook([readStep, scaleStep()], replicasParam),
        'execute',
        {
          replicas: 5,
        },
      );
      const done = await waitFor(execution.id, ['succeeded', 'failed']);
      expect(done.status).toBe('succeeded');
      expect(state.replicas).toBe(5);
      const steps = await store.getSteps(execution.id);
      expect(steps[1]).toMatchObject({
        status: 'succeeded',
        phase: 'done',
        attempt: 1,
        input: { replicas: 5 },
        before: { replicas: 2 },
        after: { replicas: 5 },
        diff: { replicas: [2, 5] },
        output: { replicas: 5 },
        plan: { objectCount: 1 },
      });
      const [dryRun, apply] = invoker.calls.filter(
        c => c.tool === 'k8s/scale' && c.kind === 'invoke',
      );
      expect(dryRun.dryRun).toBe(true);
      expect(apply).toMatchObject({
        dryRun: false,
        expectedPlanDigest: steps[1].planDigest,
        idempotencyKey: `${execution.id}/1/scale`,
      });
      expect((await store.listEvents(execution.id)).map(e => e.type)).toEqual([
        'created',
        'running',
        'step-started',
        'step-succeeded',
        'step-started',
        'step-planned',
        'step-applying',
        'step-succeeded',
        'succeeded',
      ]);
    });

    it('in dry-run mode plans every mutating step and applies nothing', async () => {
      const { state, invoker } = cluster();
      startWorker(invoker);
      const execution = await create(
        runbook([readStep, scaleStep()], replicasParam),
        'dry-run',
        {
          replicas: 5,
        },
      );
      const done = await waitFor(execution.id, ['succeeded', 'failed']);
      expect(done).toMatchObject({
        status: 'succeeded',
        statusMessage: expect.stringMatching(/nothing applied/),
      });
      expect(state.replicas).toBe(2);
      expect(invoker.applies('k8s/scale')).toEqual([]);
      expect((await store.getSteps(execution.id))[1].plan).toMatchObject({
        changes: [{ from: 2, to: 5 }],
      });
    });

    it('in dry-run mode does not run the read steps that follow a planned change', async () => {
      const { invoker } = cluster();
      startWorker(invoker);
      const check = {
        id: 'check',
        tool: 'k8s/get',
        mutates: false,
        verify: ['output.replicas == parameters.replicas'],
      };
      const execution = await create(
        runbook([readStep, scaleStep(), check], replicasParam),
        'dry-run',
        { replicas: 5 },
      );
      expect(
        (await waitFor(execution.id, ['succeeded', 'failed'])).status,
      ).toBe('succeeded');
      const steps = await store.getSteps(execution.id);
      expect(steps.map(s => s.status)).toEqual([
        'succeeded',
        'succeeded',
        'skipped',
      ]);
      expect(steps[2].error).toMatch(/change that was only planned/);
      // the read before the change ran; the one after did not
      expect(invoker.calls.filter(c => c.tool === 'k8s/get').length).toBe(1);
    });

    it('waits for approval without holding a worker, across a restart, and applies the approved plan', async () => {
      const { state, invoker } = cluster();
      const first = startWorker(invoker, 'before-restart');
      const execution = await create(
        runbook([readStep, scaleStep({ approval: 'always' })], replicasParam),
        'execute',
        { replicas: 4 },
      );
      const waiting = await waitFor(execution.id, ['waiting-approval']);
      expect(waiting).toMatchObject({ leaseOwner: undefined, currentStep: 1 });
      expect(first.runningIds()).toEqual([]);
      await first.stop();
      workers.splice(workers.indexOf(first), 1);

      const step = (await store.getSteps(execution.id))[1];
      expect(step.status).toBe('waiting-approval');
      await expect(
        manager().decide({
          id: execution.id,
          stepIndex: 1,
          planDigest: step.planDigest!,
          decision: 'approved',
          decidedBy: 'user:default/alice',
        }),
      ).rejects.toThrow(NotAllowedError);
      await expect(
        manager().decide({
          id: execution.id,
          stepIndex: 1,
          planDigest: 'sha256:other',
          decision: 'approved',
          decidedBy: 'user:default/bob',
        }),
      ).rejects.toThrow(ConflictError);
      expect(state.replicas).toBe(2);

      startWorker(invoker, 'after-restart');
      await manager().decide({
        id: execution.id,
        stepIndex: 1,
        planDigest: step.planDigest!,
        decision: 'approved',
        decidedBy: 'user:default/bob',
      });
      const done = await waitFor(execution.id, ['succeeded', 'failed']);
      expect(done.status).toBe('succeeded');
      expect(state.replicas).toBe(4);
      expect(invoker.applies('k8s/scale')).toEqual([
        expect.objectContaining({ expectedPlanDigest: step.planDigest }),
      ]);
      expect((await store.listEvents(execution.id)).map(e => e.type)).toEqual(
        expect.arrayContaining([
          'approval-requested',
          'approved',
          'step-approved',
        ]),
      );
    });

    it('refuses to apply when the plan changed after approval', async () => {
      const { state, invoker } = cluster();
      startWorker(invoker);
      const execution = await create(
        runbook([scaleStep({ approval: 'always' })], replicasParam),
        'execute',
        { replicas: 4 },
      );
      await waitFor(execution.id, ['waiting-approval']);
      const step = (await store.getSteps(execution.id))[0];
      state.replicas = 3; // someone scaled by hand meanwhile: the plan would now differ
      await manager().decide({
        id: execution.id,
        stepIndex: 0,
        planDigest: step.planDigest!,
        decision: 'approved',
        decidedBy: 'user:default/bob',
      });
      const done = await waitFor(execution.id, ['succeeded', 'failed']);
      expect(done.status).toBe('failed');
      expect((await store.getSteps(execution.id))[0].error).toMatch(
        /plan changed since it was approved/,
      );
      expect(state.replicas).toBe(3);
    });

    it('a rejection ends the execution', async () => {
      const { state, invoker } = cluster();
      startWorker(invoker);
      const execution = await create(
        runbook([scaleStep({ approval: 'always' })], replicasParam),
        'execute',
        {
          replicas: 4,
        },
      );
      await waitFor(execution.id, ['waiting-approval']);
      const step = (await store.getSteps(execution.id))[0];
      await manager().decide({
        id: execution.id,
        stepIndex: 0,
        planDigest: step.planDigest!,
        decision: 'rejected',
        decidedBy: 'user:default/bob',
        comment: 'not during the sale',
      });
      expect(await store.getExecution(execution.id)).toMatchObject({
        status: 'failed',
        statusMessage:
          "Step 'scale' rejected by user:default/bob: not during the sale",
      });
      expect(state.replicas).toBe(2);
    });

    it('fails a step whose verify does not hold, and goes on past one that may fail', async () => {
      const { invoker } = cluster();
      startWorker(invoker);
      const failing = await create(
        runbook(
          [{ ...readStep, verify: ['output.replicas > 10'] }, scaleStep()],
          replicasParam,
        ),
        'execute',
        { replicas: 5 },
      );
      expect(await waitFor(failing.id, ['succeeded', 'failed'])).toMatchObject({
        status: 'failed',
        statusMessage:
          "Step 'read' failed: verify failed: output.replicas > 10 (output.replicas > 10 is false)",
      });
      const tolerant = await create(
        runbook(
          [
            {
              ...readStep,
              verify: ['output.replicas > 10'],
              onFailure: 'continue',
            },
            scaleStep(),
          ],
          replicasParam,
        ),
        'execute',
        { replicas: 5 },
      );
      expect((await waitFor(tolerant.id, ['succeeded', 'failed'])).status).toBe(
        'succeeded',
      );
      expect((await store.getSteps(tolerant.id)).map(s => s.status)).toEqual([
        'failed',
        'succeeded',
      ]);
    });

    it('refuses input the tool schema rejects, and a read step on a tool not declared read-only', async () => {
      const { invoker } = cluster();
      startWorker(invoker);
      const badInput = await create(
        runbook([scaleStep({ input: { replicas: 'many' } })], replicasParam),
        'execute',
      );
      await waitFor(badInput.id, ['failed']);
      expect((await store.getSteps(badInput.id))[0].error).toBe(
        "input rejected by k8s/scale's schema: /replicas must be integer",
      );
      const unsafe = await create(
        runbook([{ id: 'read', tool: 'k8s/unsafe-read', mutates: false }]),
        'execute',
      );
      await waitFor(unsafe.id, ['failed']);
      expect((await store.getSteps(unsafe.id))[0].error).toMatch(
        /is not declared read-only/,
      );
      expect(invoker.calls.filter(c => c.tool === 'k8s/unsafe-read')).toEqual(
        [],
      );
    });

    describe('recovery of a step that was applying when its worker died', () => {
      async function crashedDuringApply(
        rb: ReturnType<typeof runbook>,
        before?: unknown,
        approvedDigest = 'sha256:approved',
      ) {
        const execution = await create(rb, 'execute', { replicas: 7 });
        await store.claimExecution('dead-worker', 1);
        await store.updateStep(execution.id, 0, 'dead-worker', {
          status: 'running',
          phase: 'apply',
          attempt: 1,
          input: { replicas: 7 },
          planDigest: approvedDigest,
          before,
        });
        await new Promise(r => setTimeout(r, 20));
        return execution;
      }

      it('never applies again a step whose apply had returned before the crash', async () => {
        const { state, invoker } = cluster();
        const execution = await create(
          runbook([scaleStep({ idempotent: false })], replicasParam),
          'execute',
          { replicas: 7 },
        );
        await store.claimExecution('dead-worker', 1);
        await store.updateStep(execution.id, 0, 'dead-worker', {
          status: 'running',
          phase: 'verify',
          attempt: 1,
          input: { replicas: 7 },
          planDigest: 'sha256:approved',
          output: { replicas: 7 },
        });
        await new Promise(r => setTimeout(r, 20));
        startWorker(invoker);
        expect(
          (await waitFor(execution.id, ['succeeded', 'failed'])).status,
        ).toBe('succeeded');
        expect(invoker.calls).toEqual([]);
        expect(state.replicas).toBe(2);
      });

      it('repeats an idempotent step whose approved plan still stands, with the same idempotency key', async () => {
        const { state, invoker } = cluster();
        const execution = await crashedDuringApply(
          runbook([scaleStep({ idempotent: true, verify: [] })], replicasParam),
          undefined,
          planDigest({
            changes: [
              {
                action: 'update',
                kind: 'Deployment',
                name: 'checkout',
                from: 2,
                to: 7,
              },
            ],
            objectCount: 1,
          }),
        );
        startWorker(invoker);
        await waitFor(execution.id, ['succeeded', 'failed', 'needs-attention']);
        expect(invoker.applies('k8s/scale').map(c => c.idempotencyKey)).toEqual(
          [`${execution.id}/0/scale`],
        );
        expect(state.replicas).toBe(7);
        expect(
          (await store.listEvents(execution.id)).map(e => e.type),
        ).toContain('step-retried');
      });

      it('finishes an idempotent step whose change is already in place, without applying again', async () => {
        const { state, invoker } = cluster();
        state.replicas = 7; // the apply had reached the cluster before the crash
        const execution = await crashedDuringApply(
          runbook([scaleStep({ idempotent: true })], replicasParam),
          { replicas: 2 },
        );
        startWorker(invoker);
        const done = await waitFor(execution.id, [
          'succeeded',
          'failed',
          'needs-attention',
        ]);
        expect(invoker.applies()).toEqual([]);
        expect(
          (await store.listEvents(execution.id)).map(e => e.type),
        ).toContain('step-recovered');
        // its verify reads the output of the apply, which was lost with the worker: a person decides
        expect(done.status).toBe('needs-attention');
        expect(done.statusMessage).toMatch(/change in place, but its verify/);
        expect((await store.getSteps(execution.id))[0].after).toEqual({
          replicas: 7,
        });
      });

      it('hands an idempotent step whose plan changed since the approval to a person', async () => {
        const { state, invoker } = cluster();
        const execution = await crashedDuringApply(
          runbook([scaleStep({ idempotent: true, verify: [] })], replicasParam),
        );
        startWorker(invoker);
        const parked = await waitFor(execution.id, [
          'needs-attention',
          'succeeded',
          'failed',
        ]);
        expect(parked.status).toBe('needs-attention');
        expect(parked.statusMessage).toMatch(/differs from the approved one/);
        expect(invoker.applies()).toEqual([]);
        expect(state.replicas).toBe(2);
      });

      it('does not repeat a step declared idempotent when its tool does not declare idempotentHint', async () => {
        const { state, invoker } = cluster();
        const execution = await crashedDuringApply(
          runbook(
            [
              scaleStep({
                tool: 'k8s/scale-undeclared',
                idempotent: true,
                verify: [],
              }),
            ],
            replicasParam,
          ),
          { replicas: 1 },
        );
        startWorker(invoker);
        const parked = await waitFor(execution.id, [
          'needs-attention',
          'succeeded',
          'failed',
        ]);
        expect(parked.status).toBe('needs-attention');
        expect(invoker.applies()).toEqual([]);
        expect(state.replicas).toBe(2);
      });

      it('hands a non-idempotent step whose state changed to a person', async () => {
        const { state, invoker } = cluster();
        const execution = await crashedDuringApply(
          runbook([scaleStep({ idempotent: false })], replicasParam),
          { replicas: 1 }, // the state before the apply differs from now: it may have run
        );
        startWorker(invoker);
        const parked = await waitFor(execution.id, [
          'needs-attention',
          'succeeded',
          'failed',
        ]);
        expect(parked.status).toBe('needs-attention');
        expect(parked.statusMessage).toMatch(
          /the state has changed since: it may have run/,
        );
        expect(invoker.applies()).toEqual([]);
        expect(state.replicas).toBe(2);

        // a person looked and skips the step
        await manager().resolveAttention(
          execution.id,
          'skip',
          'user:default/bob',
        );
        expect((await waitFor(execution.id, ['succeeded'])).status).toBe(
          'succeeded',
        );
        expect((await store.getSteps(execution.id))[0].status).toBe('skipped');
      });

      it('re-runs a non-idempotent step when its snapshot proves it did not happen', async () => {
        const { state, invoker } = cluster();
        const execution = await crashedDuringApply(
          runbook(
            [scaleStep({ idempotent: false, verify: [] })],
            replicasParam,
          ),
          { replicas: 2 }, // unchanged: the apply never reached the cluster
        );
        startWorker(invoker);
        await waitFor(execution.id, ['succeeded', 'failed', 'needs-attention']);
        expect(invoker.applies('k8s/scale')).toHaveLength(1);
        expect(
          (await store.listEvents(execution.id)).find(
            e => e.type === 'step-retried',
          )?.payload,
        ).toMatchObject({
          reason: expect.stringMatching(/unchanged/),
        });
        expect(state.replicas).toBe(2); // refused: the approved digest was for another plan
      });
    });

    it('a worker whose lease renewals stall stops its run before the lease can be taken', async () => {
      const { invoker, hangAbortedAt } = cluster();
      const renew = jest
        .spyOn(store, 'renewLease')
        .mockImplementation(() => new Promise(() => {}));
      try {
        startWorker(invoker);
        const execution = await create(
          runbook([{ id: 'hang', tool: 'k8s/hang', mutates: false }]),
          'execute',
        );
        const running = await waitFor(execution.id, ['running']);
        const expiresAt = running.leaseExpiresAt!.getTime();
        const deadline = Date.now() + 10_000;
        while (!hangAbortedAt() && Date.now() < deadline) {
          await new Promise(r => setTimeout(r, 20));
        }
        expect(hangAbortedAt()).toBeDefined();
        expect(hangAbortedAt()!).toBeLessThan(expiresAt);
      } finally {
        renew.mockRestore();
      }
    });

    it('waits out the old apply call before trusting a snapshot', async () => {
      const { state, invoker } = cluster();
      const execution = await create(
        runbook(
          [scaleStep({ idempotent: false, verify: [], timeout: '1s' })],
          replicasParam,
        ),
        'execute',
        { replicas: 7 },
      );
      await store.claimExecution('stalled-worker', 1);
      await store.updateStep(execution.id, 0, 'stalled-worker', {
        status: 'running',
        phase: 'apply',
        attempt: 1,
        input: { replicas: 7 },
        planDigest: 'sha256:approved',
        before: { replicas: 2 },
      });
      // the stalled worker had made its call: the snapshot may not show it yet
      const applyingAt = Date.now();
      await events.append(execution.id, 'step-applying', { step: 0 });
      await new Promise(r => setTimeout(r, 20));
      startWorker(invoker);
      await waitFor(execution.id, ['succeeded', 'failed', 'needs-attention']);
      const log = await store.listEvents(execution.id);
      expect(
        log.find(e => e.type === 'step-recovery-wait')?.payload,
      ).toMatchObject({
        step: 0,
      });
      const snapshot = invoker.calls.find(c => c.kind === 'snapshot');
      expect(snapshot).toBeDefined();
      const retried = log.find(e => e.type === 'step-retried')!;
      // the step timeout (1s) and a second of margin passed before the state was trusted
      expect(retried.createdAt.getTime() - applyingAt).toBeGreaterThanOrEqual(
        2000,
      );
      expect(state.replicas).toBe(2);
    });

    describe('the kill switch', () => {
      it('refuses new executions in its scope', async () => {
        await manager().engageKillSwitch({
          scope: 'entity',
          target: 'component:default/checkout',
          reason: 'incident 42',
          by: 'user:default/bob',
        });
        await expect(create(runbook([readStep]), 'execute')).rejects.toThrow(
          KillSwitchEngagedError,
        );
        await expect(create(runbook([readStep]), 'execute')).rejects.toThrow(
          'Refused: the entity component:default/checkout kill switch is engaged (by user:default/bob: incident 42)',
        );
      });

      it('aborts a running tool call, parks the execution, and release resumes nothing', async () => {
        const { invoker } = cluster();
        startWorker(invoker);
        const execution = await create(
          runbook([{ id: 'hang', tool: 'k8s/hang', mutates: false }, readStep]),
          'execute',
        );
        await waitFor(execution.id, ['running']);
        while (!invoker.calls.some(c => c.tool === 'k8s/hang')) {
          await new Promise(r => setTimeout(r, 10));
        }
        const engaged = await manager().engageKillSwitch({
          scope: 'global',
          reason: 'stop everything',
          by: 'user:default/bob',
        });
        const parked = await waitFor(execution.id, ['needs-attention']);
        expect(parked.statusMessage).toMatch(
          /^Stopped: global kill switch engaged by user:default\/bob: stop everything/,
        );
        expect(invoker.calls.find(c => c.tool === 'k8s/hang')?.outcome).toBe(
          'aborted',
        );
        expect(invoker.calls.filter(c => c.tool === 'k8s/get')).toEqual([]);

        await expect(
          manager().resolveAttention(
            execution.id,
            'resume',
            'user:default/bob',
          ),
        ).rejects.toThrow(KillSwitchEngagedError);
        await manager().releaseKillSwitch(engaged.id, 'user:default/bob');
        await new Promise(r => setTimeout(r, 200));
        expect((await store.getExecution(execution.id)).status).toBe(
          'needs-attention',
        );
      });
    });

    it('cancels a running execution at once', async () => {
      const { invoker } = cluster();
      startWorker(invoker);
      const execution = await create(
        runbook([{ id: 'hang', tool: 'k8s/hang', mutates: false }]),
        'execute',
      );
      await waitFor(execution.id, ['running']);
      await manager().cancel(execution.id, 'user:default/alice');
      expect(await waitFor(execution.id, ['cancelled'])).toMatchObject({
        statusMessage: 'Cancelled by user:default/alice',
      });
      expect((await store.getSteps(execution.id))[0].status).toBe('cancelled');
    });

    it('keeps running the runbook content it started with', async () => {
      const { invoker } = cluster();
      const rb = runbook([readStep]);
      const execution = await create(rb, 'execute');
      rb.spec.steps[0].tool = 'k8s/unsafe-read'; // the catalog changes after the request
      startWorker(invoker);
      expect(
        (await waitFor(execution.id, ['succeeded', 'failed'])).status,
      ).toBe('succeeded');
      expect(invoker.calls.map(c => c.tool)).toEqual(['k8s/get']);
    });
  },
);
