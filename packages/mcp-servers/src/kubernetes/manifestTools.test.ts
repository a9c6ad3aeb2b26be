import { objectDiff, objectLabel } from './normalize';
import {
  describeWithKubectl,
  exerciseContract,
  startTestCluster,
  TestCluster,
} from './testing';

jest.setTimeout(120_000);

describeWithKubectl()(
  'kubernetes apply-manifest (real kubectl, fake API)',
  () => {
    let t: TestCluster;

    beforeEach(async () => {
      t = await startTestCluster();
    });
    afterEach(async () => {
      await t.close();
    });

    const configMap = (
      data: Record<string, string>,
      name = 'redis-config',
    ) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'shop' },
      data,
    });

    it('updates an object as planned (server-side dry-run), refusing a stale plan', async () => {
      const manifest = configMap({
        LOG_LEVEL: 'debug',
        PORT: '6379',
        FEATURE_FLAGS: 'new-checkout=false',
      });
      const run = await exerciseContract(
        t,
        'apply-manifest',
        { manifest },
        () =>
          t.kubectl.run([
            'patch',
            'configmap',
            'redis-config',
            '--namespace',
            'shop',
            '--type=merge',
            '-p',
            '{"data":{"EXTRA":"1"}}',
          ]),
      );
      expect(run.plan.changes).toEqual([
        expect.objectContaining({
          action: 'update',
          kind: 'ConfigMap',
          name: 'redis-config',
          namespace: 'shop',
        }),
      ]);
      expect(run.plan.diff).toContain('-  LOG_LEVEL: info');
      expect(run.plan.diff).toContain('+  LOG_LEVEL: debug');
      expect(
        objectDiff(
          objectLabel('ConfigMap', 'redis-config', 'shop'),
          run.before.object,
          run.after.object,
        ),
      ).toBe(run.plan.diff);
      expect(run.result).toMatchObject({
        applied: true,
        action: 'update',
        name: 'redis-config',
      });
      const again = await t.call('apply-manifest', { manifest, dryRun: true });
      expect(again.plan).toMatchObject({ changes: [], objectCount: 0 });
    });

    it('creates a missing object, and a Deployment change rolls out', async () => {
      const manifest = configMap({ a: 'b' }, 'fresh-config');
      const dry = await t.call('apply-manifest', { manifest, dryRun: true });
      expect(dry.plan.changes).toEqual([
        expect.objectContaining({ action: 'create', name: 'fresh-config' }),
      ]);
      expect(
        await t.kubectl.getOptional('configmap', 'fresh-config', 'shop'),
      ).toBeUndefined();
      expect(
        (
          await t.call('apply-manifest', {
            manifest,
            expectedPlanDigest: dry.planDigest,
          })
        ).applied,
      ).toBe(true);
      expect(
        (await t.kubectl.get('configmap', 'fresh-config', 'shop')).data,
      ).toEqual({ a: 'b' });

      const live = await t.kubectl.get('deployment', 'redis', 'shop');
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'redis', namespace: 'shop' },
        spec: {
          selector: live.spec.selector,
          template: {
            ...live.spec.template,
            spec: {
              ...live.spec.template.spec,
              containers: [
                {
                  ...live.spec.template.spec.containers[0],
                  image: 'registry.example.com/shop/redis:7.4.2',
                },
              ],
            },
          },
        },
      };
      const plan = await t.call('apply-manifest', {
        manifest: deployment,
        dryRun: true,
      });
      expect(plan.plan.changes[0]).toMatchObject({
        action: 'update',
        kind: 'Deployment',
        generation: 1,
      });
      expect(plan.plan.diff).toContain(
        '+          image: registry.example.com/shop/redis:7.4.2',
      );
      await t.call('apply-manifest', {
        manifest: deployment,
        expectedPlanDigest: plan.planDigest,
      });
      const status = await t.call('rollout-status', {
        namespace: 'shop',
        deployment: 'redis',
        timeout: '30s',
      });
      expect(status).toMatchObject({ complete: true, revision: 2 });
      expect(status.images[0].image).toBe(
        'registry.example.com/shop/redis:7.4.2',
      );
    });

    it('refuses Secrets, Lists, conflicting namespaces and malformed manifests', async () => {
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'x', namespace: 'shop' },
        stringData: { password: 'never-shown-value-123' },
      };
      const refused = await t.call('apply-manifest', {
        manifest: secret,
        dryRun: true,
      });
      expect(refused.error).toContain('use rotate-secret');
      expect(refused.error).not.toContain('never-shown-value-123');
      expect(
        (
          await t.call('apply-manifest', {
            manifest: { ...configMap({}), kind: 'ConfigMapList' },
            dryRun: true,
          })
        ).error,
      ).toContain('not a List');
      expect(
        (
          await t.call('apply-manifest', {
            manifest: configMap({}),
            namespace: 'default',
            dryRun: true,
          })
        ).error,
      ).toContain('differs');
      expect(
        (
          await t.call('apply-manifest', {
            manifest: { ...configMap({}), metadata: { name: '--all' } },
            dryRun: true,
          })
        ).error,
      ).toBeTruthy();
    });
  },
);
