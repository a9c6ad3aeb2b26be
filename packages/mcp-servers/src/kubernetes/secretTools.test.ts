import {
  describeWithKubectl,
  exerciseContract,
  startTestCluster,
  TestCluster,
} from './testing';

jest.setTimeout(120_000);

describeWithKubectl()(
  'kubernetes rotate-secret (real kubectl, fake API)',
  () => {
    let t: TestCluster;

    beforeEach(async () => {
      t = await startTestCluster();
    });
    afterEach(async () => {
      await t.close();
    });

    /** The stored value of a key, read behind the server's back. */
    const stored = (name: string, key: string) =>
      Buffer.from(
        t.fake.cluster.find('Secret', 'shop', name)!.data[key],
        'base64',
      ).toString('utf8');
    /** Fails if any text the server returned contains one of the values (plain or base64). */
    const expectNoLeak = (...values: string[]) => {
      expect(t.transcript.length).toBeGreaterThan(0);
      for (const value of values) {
        for (const text of t.transcript) {
          expect(text).not.toContain(value);
          expect(text).not.toContain(Buffer.from(value).toString('base64'));
        }
      }
    };

    it('rotates to a generated value: plan by key, stale refusal, values never returned', async () => {
      const old = stored('orders-db-credentials', 'password');
      const input = {
        namespace: 'shop',
        name: 'orders-db-credentials',
        key: 'password',
        generateIfEmpty: true,
      };
      const run = await exerciseContract(t, 'rotate-secret', input, () =>
        t.kubectl.run([
          'label',
          'secret',
          'orders-db-credentials',
          '--namespace',
          'shop',
          'rotation=due',
        ]),
      );
      expect(run.plan.changes).toEqual([
        expect.objectContaining({
          action: 'rotate',
          kind: 'Secret',
          key: 'password',
          source: 'generated',
          generator: { type: 'random', length: 32, encoding: 'base64url' },
          resourceVersion: run.before.resourceVersion,
        }),
      ]);
      expect(run.plan.diff).toContain('-  password: <current value>');
      expect(run.plan.diff).toContain(
        '+  password: "<new value: 32 random bytes, base64url>"',
      );
      // exactly the one key changed
      expect(run.after.keys.username).toBe(run.before.keys.username);
      expect(run.after.keys.password).not.toBe(run.before.keys.password);
      expect(run.after.resourceVersion).not.toBe(run.before.resourceVersion);
      expect(run.result).toMatchObject({
        rotated: true,
        key: 'password',
        source: 'generated',
      });
      const fresh = stored('orders-db-credentials', 'password');
      expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(stored('orders-db-credentials', 'username')).toBe('orders');
      expectNoLeak(old, fresh);
    });

    it('rotates to a given value and to a value copied from another secret, never echoing them', async () => {
      const given = 'a-brand-new-password-for-checkout';
      const input = {
        namespace: 'shop',
        name: 'checkout-api-token',
        key: 'token',
        value: given,
      };
      const dry = await t.call('rotate-secret', { ...input, dryRun: true });
      expect(dry.plan.changes[0]).toMatchObject({ source: 'given' });
      // a wrong digest fails without echoing the value
      const wrong = await t.call('rotate-secret', {
        ...input,
        expectedPlanDigest: `sha256:${'0'.repeat(64)}`,
      });
      expect(wrong.error).toMatch(/plan changed/);
      const applied = await t.call('rotate-secret', {
        ...input,
        expectedPlanDigest: dry.planDigest,
      });
      expect(applied.rotated).toBe(true);
      expect(stored('checkout-api-token', 'token')).toBe(given);

      const copy = {
        namespace: 'shop',
        name: 'payments-gateway-token',
        key: 'token',
        fromSecret: { name: 'checkout-api-token', key: 'token' },
      };
      const copyPlan = await t.call('rotate-secret', { ...copy, dryRun: true });
      expect(copyPlan.plan.changes[0]).toMatchObject({
        source: 'copied',
        fromSecret: copy.fromSecret,
      });
      await t.call('rotate-secret', {
        ...copy,
        expectedPlanDigest: copyPlan.planDigest,
      });
      expect(stored('payments-gateway-token', 'token')).toBe(given);
      const a = await t.call('rotate-secret', { ...copy, snapshot: true });
      const b = await t.call('rotate-secret', { ...input, snapshot: true });
      expect(a.snapshot.keys.token).toBe(b.snapshot.keys.token);
      expectNoLeak(
        given,
        'demo-gateway-token-00000000001',
        'demo-checkout-token-0000000001',
      );
    });

    it('drops a last-applied configuration that still holds the old values', async () => {
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'applied', namespace: 'shop' },
        stringData: { apiKey: 'applied-old-value-1234567890' },
      };
      await t.kubectl.run(['apply', '--validate=false', '-f', '-'], {
        stdin: JSON.stringify(secret),
      });
      const meta = await t.call('get-secret-metadata', {
        namespace: 'shop',
        name: 'applied',
      });
      expect(
        meta.annotations['kubectl.kubernetes.io/last-applied-configuration'],
      ).toMatch(/^<omitted/);
      const input = {
        namespace: 'shop',
        name: 'applied',
        key: 'apiKey',
        generateIfEmpty: true,
      };
      const dry = await t.call('rotate-secret', { ...input, dryRun: true });
      expect(dry.plan.changes[0].dropsLastAppliedConfiguration).toBe(true);
      await t.call('rotate-secret', {
        ...input,
        expectedPlanDigest: dry.planDigest,
      });
      const after = await t.kubectl.get('secret', 'applied', 'shop');
      expect(
        after.metadata.annotations?.[
          'kubectl.kubernetes.io/last-applied-configuration'
        ],
      ).toBeUndefined();
      expectNoLeak('applied-old-value-1234567890', stored('applied', 'apiKey'));
    });

    it('refuses unclear sources and unknown keys, naming only key names', async () => {
      const base = { namespace: 'shop', name: 'redis-password', dryRun: true };
      expect(
        (
          await t.call('rotate-secret', {
            ...base,
            key: 'password',
            value: 'x'.repeat(20),
            generator: { type: 'random' },
          })
        ).error,
      ).toContain('only one of');
      expect(
        (await t.call('rotate-secret', { ...base, key: 'password' })).error,
      ).toContain('no new value');
      expect(
        (
          await t.call('rotate-secret', {
            ...base,
            key: 'nope',
            generateIfEmpty: true,
          })
        ).error,
      ).toBe('secret "redis-password" has no key "nope" (keys: password)');
      expect(
        (
          await t.call('rotate-secret', {
            ...base,
            key: '-p',
            generateIfEmpty: true,
          })
        ).error,
      ).toBeTruthy();
      expectNoLeak('demo-redis-password-000001');
    });
  },
);
