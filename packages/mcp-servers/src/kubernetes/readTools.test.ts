import { describeWithKubectl, startTestCluster, TestCluster } from './testing';

jest.setTimeout(120_000);

describeWithKubectl()('kubernetes read tools (real kubectl, fake API)', () => {
  let t: TestCluster;

  beforeAll(async () => {
    t = await startTestCluster();
  });
  afterAll(async () => {
    await t.close();
  });

  it('lists every tool with the annotations of its kind', async () => {
    const { tools } = await t.client.listTools();
    const byName = Object.fromEntries(tools.map(tool => [tool.name, tool]));
    for (const name of [
      'get-deployment',
      'list-pods',
      'get-secret-metadata',
      'get-node',
      'list-pdbs',
      'get-configmap',
      'rollout-status',
      'rollout-history',
    ]) {
      expect(byName[name]?.annotations?.readOnlyHint).toBe(true);
    }
    for (const name of [
      'rollout-restart',
      'rollout-undo',
      'scale',
      'delete-pod',
      'cordon',
      'uncordon',
      'drain',
      'rotate-secret',
      'restart-secret-consumers',
      'apply-manifest',
    ]) {
      expect(byName[name]?.annotations?.readOnlyHint).toBe(false);
      expect(Object.keys(byName[name]?.inputSchema.properties ?? {})).toEqual(
        expect.arrayContaining(['dryRun', 'expectedPlanDigest', 'snapshot']),
      );
    }
  });

  it('get-deployment reports the desired and current replicas', async () => {
    const d = await t.call('get-deployment', {
      namespace: 'shop',
      name: 'checkout',
    });
    expect(d).toMatchObject({
      name: 'checkout',
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 2,
      availableReplicas: 2,
      revision: 2,
      images: [
        {
          container: 'checkout',
          image: 'registry.example.com/shop/checkout:2.8.0',
        },
      ],
    });
    expect(
      (await t.call('get-deployment', { namespace: 'shop', name: 'nope' }))
        .error,
    ).toContain('deployment "nope" not found');
  });

  it('list-pods selects by label and shows the crash-looping pod', async () => {
    const out = await t.call('list-pods', {
      namespace: 'shop',
      labelSelector: 'app=checkout',
    });
    expect(out.count).toBe(3);
    const crashing = out.items.filter(
      (p: any) => p.status === 'CrashLoopBackOff',
    );
    expect(crashing).toHaveLength(1);
    expect(crashing[0]).toMatchObject({
      ready: false,
      restarts: 7,
      owner: { kind: 'ReplicaSet' },
    });
    const sets = await t.call('list-pods', {
      namespace: 'shop',
      labelSelector: 'app in (redis,rabbitmq)',
    });
    expect(sets.items.map((p: any) => p.labels.app).sort()).toEqual([
      'rabbitmq',
      'redis',
    ]);
  });

  it('rejects inputs that are not names or selectors (nothing reaches kubectl)', async () => {
    for (const args of [
      { namespace: 'shop', name: '--all' },
      { namespace: '-n', name: 'checkout' },
      { namespace: 'shop', name: 'Checkout' },
      { namespace: 'shop', name: 'a'.repeat(254) },
    ]) {
      expect((await t.call('get-deployment', args)).error).toBeTruthy();
    }
    const requests = t.fake.requests.length;
    expect(
      (
        await t.call('list-pods', {
          namespace: 'shop',
          labelSelector: 'app=x;rm -rf /',
        })
      ).error,
    ).toBeTruthy();
    expect(
      (await t.call('list-pods', { namespace: 'shop', labelSelector: '--all' }))
        .error,
    ).toBeTruthy();
    expect(t.fake.requests.length).toBe(requests);
  });

  it('get-secret-metadata gives keys and consumers, never values', async () => {
    const out = await t.call('get-secret-metadata', {
      namespace: 'shop',
      name: 'orders-db-credentials',
    });
    expect(out).toMatchObject({
      type: 'Opaque',
      keys: ['password', 'username'],
      consumers: [
        { kind: 'Deployment', name: 'checkout', via: ['env'] },
        { kind: 'Deployment', name: 'order-worker', via: ['volume'] },
      ],
    });
    expect(out.resourceVersion).toMatch(/^\d+$/);
    const text = JSON.stringify(out);
    expect(text).not.toContain('demo-orders-password-0001');
    expect(text).not.toContain(
      Buffer.from('demo-orders-password-0001').toString('base64'),
    );
  });

  it('get-node and list-pdbs: readiness, cordon state and the budgets over its pods', async () => {
    expect(await t.call('get-node', { name: 'shop-node-4' })).toMatchObject({
      ready: true,
      unschedulable: true,
      roles: ['worker'],
    });
    const pdbs = await t.call('list-pdbs', { node: 'shop-node-1' });
    const pods = await t.call('list-pods', { namespace: 'shop' });
    const onNode = pods.items.filter((p: any) => p.node === 'shop-node-1');
    const covered = pdbs.items.flatMap((b: any) => b.podsOnNode).sort();
    expect(covered).toEqual(onNode.map((p: any) => p.name).sort());
    const payments = pdbs.items.find((b: any) => b.name === 'payments-pdb');
    // the scheduler is deterministic: a payments pod always lands on shop-node-1
    expect(payments.disruptionsAllowed).toBe(0);
    expect(pdbs.blocking).toContain('shop/payments-pdb');
    const all = await t.call('list-pdbs', { namespace: 'shop' });
    expect(all.count).toBe(9);
  });

  it('get-configmap returns its data', async () => {
    expect(
      await t.call('get-configmap', {
        namespace: 'shop',
        name: 'redis-config',
      }),
    ).toMatchObject({
      keys: ['FEATURE_FLAGS', 'LOG_LEVEL', 'PORT'],
      data: { PORT: '6379', LOG_LEVEL: 'info' },
    });
  });

  it('rollout-history and rollout-status', async () => {
    const history = await t.call('rollout-history', {
      namespace: 'shop',
      deployment: 'storefront',
    });
    expect(history.currentRevision).toBe(3);
    expect(
      history.revisions.map((r: any) => [
        r.revision,
        r.current,
        r.images[0].image,
      ]),
    ).toEqual([
      [1, false, 'registry.example.com/shop/storefront:1.13.0'],
      [2, false, 'registry.example.com/shop/storefront:1.14.1'],
      [3, true, 'registry.example.com/shop/storefront:1.14.2'],
    ]);
    const status = await t.call('rollout-status', {
      namespace: 'shop',
      deployment: 'storefront',
      timeout: '30s',
    });
    expect(status).toMatchObject({
      complete: true,
      replicas: 3,
      updatedReplicas: 3,
      availableReplicas: 3,
    });
    expect(status.message).toContain('successfully rolled out');

    // checkout has a crash-looping pod: the rollout never completes
    const stuck = await t.call('rollout-status', {
      namespace: 'shop',
      deployment: 'checkout',
      timeout: '2s',
    });
    expect(stuck).toMatchObject({
      complete: false,
      replicas: 3,
      availableReplicas: 2,
    });
    expect(stuck.message).toMatch(/timed out/);
  });
});
