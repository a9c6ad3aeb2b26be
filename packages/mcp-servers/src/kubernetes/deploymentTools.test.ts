import { objectDiff, objectLabel, placeholdRestart } from './normalize';
import {
  describeWithKubectl,
  exerciseContract,
  startTestCluster,
  TestCluster,
} from './testing';

jest.setTimeout(120_000);

/** The diff between two snapshots of one object, as a plan renders it. */
function snapshotDiff(
  kind: string,
  name: string,
  namespace: string | undefined,
  before: any,
  after: any,
) {
  const a = structuredClone(after.object);
  return objectDiff(
    objectLabel(kind, name, namespace),
    before.object,
    placeholdRestart(before.object, a),
  );
}

describeWithKubectl()(
  'kubernetes deployment tools (real kubectl, fake API)',
  () => {
    let t: TestCluster;

    beforeEach(async () => {
      t = await startTestCluster();
    });
    afterEach(async () => {
      await t.close();
    });

    const setEnv = (deployment: string, value: string) =>
      t.kubectl.run([
        'set',
        'env',
        `deployment/${deployment}`,
        '--namespace',
        'shop',
        `TOUCHED=${value}`,
      ]);

    it('rollout-restart: plan, stale refusal, apply restarts exactly as planned', async () => {
      const run = await exerciseContract(
        t,
        'rollout-restart',
        { namespace: 'shop', deployment: 'redis' },
        () => setEnv('redis', 'a'),
      );
      expect(run.plan.changes).toEqual([
        expect.objectContaining({
          action: 'restart',
          kind: 'Deployment',
          name: 'redis',
          namespace: 'shop',
        }),
      ]);
      expect(run.plan.diff).toContain(
        '+        kubectl.kubernetes.io/restartedAt: <time of the restart>',
      );
      expect(
        snapshotDiff('Deployment', 'redis', 'shop', run.before, run.after),
      ).toBe(run.plan.diff);
      expect(run.after.generation).toBe(run.before.generation + 1);
      expect(run.result).toMatchObject({ restarted: true, revision: 3 });
    });

    it('rollout-undo: rolls back to the previous revision and sets the reason annotation', async () => {
      const reason = {
        'runbooks.backstage.io/rollback-reason':
          'release 1.14.2 broke checkout',
      };
      const input = {
        namespace: 'shop',
        deployment: 'storefront',
        annotations: reason,
      };
      const run = await exerciseContract(t, 'rollout-undo', input, () =>
        setEnv('storefront', 'b'),
      );
      // the interfering change made revision 4; the previous one is 3 (1.14.2 with TOUCHED unset)
      expect(run.plan.changes[0]).toMatchObject({
        action: 'rollback',
        fromRevision: 4,
        toRevision: 3,
      });
      expect(
        snapshotDiff('Deployment', 'storefront', 'shop', run.before, run.after),
      ).toBe(run.plan.diff);
      expect(run.after.object.metadata.annotations).toMatchObject(reason);
      const history = await t.call('rollout-history', {
        namespace: 'shop',
        deployment: 'storefront',
      });
      expect(history.currentRevision).toBe(5);
      const status = await t.call('rollout-status', {
        namespace: 'shop',
        deployment: 'storefront',
        timeout: '30s',
      });
      expect(status).toMatchObject({
        complete: true,
        updatedReplicas: 3,
        replicas: 3,
      });

      const older = await t.call('rollout-undo', {
        namespace: 'shop',
        deployment: 'storefront',
        toRevision: 1,
        dryRun: true,
      });
      expect(older.plan.changes[0].toImages).toEqual([
        {
          container: 'storefront',
          image: 'registry.example.com/shop/storefront:1.13.0',
        },
      ]);
      expect(
        (
          await t.call('rollout-undo', {
            namespace: 'shop',
            deployment: 'storefront',
            toRevision: 9,
            dryRun: true,
          })
        ).error,
      ).toMatch(/revision 9 is not in the rollout history/);
      expect(
        (
          await t.call('rollout-undo', {
            namespace: 'shop',
            deployment: 'redis',
            dryRun: true,
          })
        ).error,
      ).toMatch(/no previous revision/);
    });

    it('scale: bounded by maxScale, refused when scaled in between, applies the planned count', async () => {
      expect(
        (
          await t.call('scale', {
            namespace: 'shop',
            deployment: 'redis',
            replicas: 21,
            dryRun: true,
          })
        ).error,
      ).toBeTruthy();
      expect(
        (
          await t.call('scale', {
            namespace: 'shop',
            deployment: 'redis',
            replicas: -1,
            dryRun: true,
          })
        ).error,
      ).toBeTruthy();
      const run = await exerciseContract(
        t,
        'scale',
        { namespace: 'shop', deployment: 'notifications', replicas: 4 },
        () =>
          t.kubectl.run([
            'scale',
            'deployment/notifications',
            '--namespace',
            'shop',
            '--replicas=3',
          ]),
      );
      expect(run.plan.changes[0]).toMatchObject({
        action: 'scale',
        fromReplicas: 3,
        toReplicas: 4,
      });
      expect(
        snapshotDiff(
          'Deployment',
          'notifications',
          'shop',
          run.before,
          run.after,
        ),
      ).toBe(run.plan.diff);
      const status = await t.call('rollout-status', {
        namespace: 'shop',
        deployment: 'notifications',
        timeout: '30s',
      });
      expect(status).toMatchObject({ availableReplicas: 4, replicas: 4 });

      const same = await t.call('scale', {
        namespace: 'shop',
        deployment: 'notifications',
        replicas: 4,
        dryRun: true,
      });
      expect(same.plan).toMatchObject({ changes: [], objectCount: 0 });
    });

    it('a crash-looping release: rollout-status reports it at once, rollout-undo recovers', async () => {
      // the fake's kubelet crash-loops pods whose template carries this annotation
      await t.kubectl.run([
        'patch',
        'deployment',
        'payments',
        '--namespace',
        'shop',
        '-p',
        JSON.stringify({
          spec: {
            template: {
              metadata: {
                annotations: {
                  'fake.runbooks.backstage.io/crash-loop': 'true',
                },
              },
              spec: {
                containers: [
                  {
                    name: 'payments',
                    image: 'registry.example.com/shop/payments:3.2.0',
                  },
                ],
              },
            },
          },
        }),
      ]);
      const broken = await t.call('rollout-status', {
        namespace: 'shop',
        deployment: 'payments',
        timeout: '60s',
      });
      expect(broken).toMatchObject({
        complete: false,
        availableReplicas: 0,
        updatedReplicas: 2,
      });
      expect(broken.message).toContain('exceeded its progress deadline');
      const pods = await t.call('list-pods', {
        namespace: 'shop',
        labelSelector: 'app=payments',
      });
      expect(pods.items.map((p: any) => p.status)).toEqual([
        'CrashLoopBackOff',
        'CrashLoopBackOff',
      ]);

      const input = {
        namespace: 'shop',
        deployment: 'payments',
        annotations: {
          'runbooks.backstage.io/rollback-reason': '3.2.0 crash-loops on start',
        },
      };
      const dry = await t.call('rollout-undo', { ...input, dryRun: true });
      expect(dry.plan.changes[0]).toMatchObject({
        fromRevision: 3,
        toRevision: 2,
      });
      expect(dry.plan.diff).toContain(
        '-        fake.runbooks.backstage.io/crash-loop: "true"',
      );
      await t.call('rollout-undo', {
        ...input,
        expectedPlanDigest: dry.planDigest,
      });
      const healed = await t.call('rollout-status', {
        namespace: 'shop',
        deployment: 'payments',
        timeout: '60s',
      });
      expect(healed).toMatchObject({
        complete: true,
        availableReplicas: 2,
        updatedReplicas: 2,
        replicas: 2,
      });
      expect(healed.images[0].image).toBe(
        'registry.example.com/shop/payments:3.1.0',
      );
    });

    it('scale respects a smaller maxScale of the server', async () => {
      const small = await startTestCluster({ maxScale: 5 });
      try {
        expect(
          (
            await small.call('scale', {
              namespace: 'shop',
              deployment: 'redis',
              replicas: 6,
              dryRun: true,
            })
          ).error,
        ).toBeTruthy();
        expect(
          (
            await small.call('scale', {
              namespace: 'shop',
              deployment: 'redis',
              replicas: 5,
              dryRun: true,
            })
          ).plan.objectCount,
        ).toBe(1);
      } finally {
        await small.close();
      }
    });

    it('restart-secret-consumers: restarts exactly the deployments that use the secret', async () => {
      const generations = async () =>
        Object.fromEntries(
          (
            await t.kubectl.json(['get', 'deployments', '--namespace', 'shop'])
          ).items.map((d: any) => [d.metadata.name, d.metadata.generation]),
        );
      const run = await exerciseContract(
        t,
        'restart-secret-consumers',
        { namespace: 'shop', secret: 'orders-db-credentials' },
        () => setEnv('order-worker', 'c'),
      );
      expect(run.plan.changes.map((c: any) => [c.name, c.via])).toEqual([
        ['checkout', ['env']],
        ['order-worker', ['volume']],
      ]);
      expect(run.plan.objectCount).toBe(2);
      const diffs = run.before.map((b: any, i: number) =>
        snapshotDiff(
          'Deployment',
          b.object.metadata.name,
          'shop',
          b,
          run.after[i],
        ),
      );
      expect(diffs.join('')).toBe(run.plan.diff);
      expect(run.result.restarted).toEqual(['checkout', 'order-worker']);
      const after = await generations();
      expect(after.checkout).toBe(run.before[0].generation + 1);
      expect(after['order-worker']).toBe(run.before[1].generation + 1);
      expect(after.payments).toBe(2);
      expect(after.redis).toBe(1);

      const none = await t.call('restart-secret-consumers', {
        namespace: 'shop',
        secret: 'unused',
        dryRun: true,
      });
      expect(none.plan).toMatchObject({ changes: [], objectCount: 0 });
    });
  },
);
