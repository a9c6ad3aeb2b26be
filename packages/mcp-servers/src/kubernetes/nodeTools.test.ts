import { objectDiff, objectLabel } from './normalize';
import {
  describeWithKubectl,
  exerciseContract,
  startTestCluster,
  TestCluster,
} from './testing';

jest.setTimeout(120_000);

describeWithKubectl()(
  'kubernetes node and pod tools (real kubectl, fake API)',
  () => {
    let t: TestCluster;

    beforeEach(async () => {
      t = await startTestCluster();
    });
    afterEach(async () => {
      await t.close();
    });

    const label = (
      kind: string,
      name: string,
      value: string,
      namespace?: string,
    ) =>
      t.kubectl.run([
        'label',
        kind,
        name,
        ...(namespace ? ['--namespace', namespace] : []),
        `touched=${value}`,
        '--overwrite',
      ]);
    const podsOn = async (node: string) =>
      (
        await t.kubectl.json([
          'get',
          'pods',
          '--all-namespaces',
          '--field-selector',
          `spec.nodeName=${node}`,
        ])
      ).items;

    it('cordon and uncordon: plan the unschedulable flag, refuse a stale plan, apply it', async () => {
      const cordon = await exerciseContract(
        t,
        'cordon',
        { name: 'shop-node-2' },
        () => label('node', 'shop-node-2', 'a'),
      );
      expect(cordon.plan.changes).toEqual([
        expect.objectContaining({
          action: 'cordon',
          kind: 'Node',
          name: 'shop-node-2',
        }),
      ]);
      expect(cordon.plan.diff).toContain('+  unschedulable: true');
      expect(
        objectDiff(
          objectLabel('Node', 'shop-node-2'),
          cordon.before.object,
          cordon.after.object,
        ),
      ).toBe(cordon.plan.diff);
      expect(cordon.result).toMatchObject({ unschedulable: true });
      expect(
        (await t.call('cordon', { name: 'shop-node-2', dryRun: true })).plan
          .objectCount,
      ).toBe(0);

      const uncordon = await exerciseContract(
        t,
        'uncordon',
        { name: 'shop-node-4' },
        () => label('node', 'shop-node-4', 'b'),
      );
      expect(uncordon.plan.diff).toContain('-  unschedulable: true');
      expect(
        objectDiff(
          objectLabel('Node', 'shop-node-4'),
          uncordon.before.object,
          uncordon.after.object,
        ),
      ).toBe(uncordon.plan.diff);
      expect(
        (await t.call('get-node', { name: 'shop-node-4' })).unschedulable,
      ).toBe(false);
    });

    it('delete-pod: deletes exactly the planned pod; its ReplicaSet replaces it', async () => {
      const pods = await t.call('list-pods', {
        namespace: 'shop',
        labelSelector: 'app=checkout',
      });
      const crashing = pods.items.find(
        (p: any) => p.status === 'CrashLoopBackOff',
      );
      const input = {
        namespace: 'shop',
        name: crashing.name,
        gracePeriodSeconds: 30,
      };
      const run = await exerciseContract(t, 'delete-pod', input, () =>
        label('pod', crashing.name, 'c', 'shop'),
      );
      expect(run.plan.changes).toEqual([
        expect.objectContaining({
          action: 'delete',
          kind: 'Pod',
          name: crashing.name,
          uid: crashing.uid,
          replacedByController: true,
        }),
      ]);
      expect(run.before.uid).toBe(crashing.uid);
      expect(run.after).toBeNull();
      const after = await t.call('list-pods', {
        namespace: 'shop',
        labelSelector: 'app=checkout',
      });
      expect(after.items.map((p: any) => p.name)).not.toContain(crashing.name);
      expect(after.items).toHaveLength(3);
      expect(after.items.every((p: any) => p.ready)).toBe(true);
      expect(
        (await t.call('delete-pod', { ...input, dryRun: true })).error,
      ).toContain('not found');
    });

    it('drain: cordons and evicts every planned pod, keeps DaemonSet pods, remainingPods 0', async () => {
      // the crash-looping checkout pod uses up checkout's budget; replace it first
      const crashing = (
        await t.call('list-pods', {
          namespace: 'shop',
          labelSelector: 'app=checkout',
        })
      ).items.find((p: any) => p.status === 'CrashLoopBackOff');
      await t.kubectl.run([
        'delete',
        'pod',
        crashing.name,
        '--namespace',
        'shop',
      ]);
      const input = {
        name: 'shop-node-3',
        ignoreDaemonSets: true,
        timeout: '60s',
      };
      const onNode = await podsOn('shop-node-3');
      const redis = onNode.find((p: any) => p.metadata.labels.app === 'redis');
      const run = await exerciseContract(t, 'drain', input, async () => {
        // a pod replaced between plan and apply: the approved list of evictions is stale
        await t.kubectl.run([
          'delete',
          'pod',
          redis.metadata.name,
          '--namespace',
          'shop',
        ]);
      });
      const evictions = run.plan.changes.filter(
        (c: any) => c.action === 'evict',
      );
      expect(run.plan.changes[0]).toMatchObject({
        action: 'cordon',
        kind: 'Node',
        name: 'shop-node-3',
      });
      expect(run.plan.objectCount).toBe(evictions.length + 1);
      expect(evictions.every((c: any) => c.pdbVerdict === 'allowed')).toBe(
        true,
      );
      expect(run.plan.skipped).toEqual([
        expect.objectContaining({ reason: 'DaemonSet-managed' }),
      ]);
      expect(run.result).toMatchObject({
        cordoned: true,
        drained: true,
        remainingPods: 0,
      });
      expect(run.result.evicted.sort()).toEqual(
        evictions.map((c: any) => `${c.namespace}/${c.name}`).sort(),
      );
      const left = await podsOn('shop-node-3');
      expect(left.map((p: any) => p.metadata.name)).toEqual(
        run.plan.skipped.map((s: any) => s.name),
      );
      expect(run.after.node.object.spec.unschedulable).toBe(true);
    });

    it('drain: the plan shows a budget that blocks; the drain times out with remaining pods', async () => {
      const plan = await t.call('drain', {
        name: 'shop-node-1',
        timeout: '3s',
        dryRun: true,
      });
      const payments = plan.plan.changes.find((c: any) =>
        c.name.startsWith('payments-'),
      );
      expect(payments).toMatchObject({
        action: 'evict',
        podDisruptionBudget: 'payments-pdb',
        disruptionsAllowed: 0,
        pdbVerdict: 'blocked',
      });
      const blocked = plan.plan.changes
        .filter((c: any) => c.pdbVerdict === 'blocked')
        .map((c: any) => `${c.namespace}/${c.name}`)
        .sort();
      expect(plan.plan.blocked).toBe(blocked.length);
      const result = await t.call('drain', {
        name: 'shop-node-1',
        timeout: '3s',
        expectedPlanDigest: plan.planDigest,
      });
      // what the plan called blocked is exactly what stays
      expect(result).toMatchObject({
        cordoned: true,
        drained: false,
        remainingPods: blocked.length,
      });
      expect(result.remaining).toEqual(blocked);
      expect(result.remaining).toContain(`shop/${payments.name}`);
      expect(result.error).toContain('global timeout reached');
    });

    it('drain refuses unmanaged pods unless force, and local storage unless deleteEmptyDirData', async () => {
      await t.kubectl.run([
        'run',
        'bare',
        '--namespace',
        'shop',
        '--image=busybox',
        '--overrides',
        JSON.stringify({
          spec: {
            nodeName: 'shop-node-2',
            volumes: [{ name: 'scratch', emptyDir: {} }],
          },
        }),
      ]);
      const refused = await t.call('drain', {
        name: 'shop-node-2',
        dryRun: true,
      });
      expect(refused.error).toContain(
        'shop/bare uses emptyDir local storage (set deleteEmptyDirData)',
      );
      const unmanaged = await t.call('drain', {
        name: 'shop-node-2',
        deleteEmptyDirData: true,
        dryRun: true,
      });
      expect(unmanaged.error).toContain(
        'shop/bare is not managed by a controller',
      );
      const forced = await t.call('drain', {
        name: 'shop-node-2',
        deleteEmptyDirData: true,
        force: true,
        dryRun: true,
      });
      expect(forced.plan.changes).toContainEqual(
        expect.objectContaining({ action: 'evict', name: 'bare', owner: null }),
      );
      expect(
        (
          await t.call('drain', {
            name: 'shop-node-2',
            respectPodDisruptionBudgets: false,
            dryRun: true,
          })
        ).error,
      ).toBeTruthy();
    });
  },
);
