import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kubectl } from '../Kubectl';
import { describeWithKubectl } from '../testing';
import { createKubeApiFake, KubeApiFake } from './KubeApiFake';
import { demoClusterSeed } from './demoClusterSeed';

jest.setTimeout(120_000);

describeWithKubectl()('the fake Kubernetes API under the real kubectl', () => {
  let fake: KubeApiFake;
  let kubectl: Kubectl;
  let dir: string;

  const ok = (args: string[], stdin?: string) => kubectl.run(args, { stdin });
  const fails = async (args: string[]) => {
    const r = await kubectl.raw(args);
    expect(r.code).not.toBe(0);
    return r.stderr;
  };
  const json = (args: string[]) => kubectl.json(args);
  const rv = () => fake.cluster.resourceVersion();

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-fake-test-'));
    fake = await createKubeApiFake({ seed: demoClusterSeed() });
    kubectl = new Kubectl({
      kubeconfig: await fake.writeKubeconfig(join(dir, 'kubeconfig')),
      cacheDir: join(dir, 'cache'),
    });
  });

  afterEach(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the demo cluster: nodes, deployments with pods, PDBs, the 404 kubectl prints', async () => {
    const nodes = await json(['get', 'nodes']);
    expect(nodes.items.map((n: any) => n.metadata.name)).toEqual([
      'shop-node-1',
      'shop-node-2',
      'shop-node-3',
      'shop-node-4',
    ]);
    expect(await ok(['get', 'nodes'])).toMatch(
      /shop-node-4\s+Ready,SchedulingDisabled/,
    );

    const pods = await json([
      'get',
      'pods',
      '-n',
      'shop',
      '-l',
      'app=storefront',
    ]);
    expect(pods.items).toHaveLength(3);
    expect(pods.items.every((p: any) => p.status.phase === 'Running')).toBe(
      true,
    );
    expect(pods.items.some((p: any) => p.spec.nodeName === 'shop-node-4')).toBe(
      false,
    );

    const onNode = await json([
      'get',
      'pods',
      '-A',
      '--field-selector',
      'spec.nodeName=shop-node-2',
    ]);
    expect(onNode.items.length).toBeGreaterThan(1);
    expect(
      onNode.items.every((p: any) => p.spec.nodeName === 'shop-node-2'),
    ).toBe(true);

    const crashing = (
      await json(['get', 'pods', '-n', 'shop', '-l', 'app=checkout'])
    ).items.filter(
      (p: any) =>
        p.status.containerStatuses[0].state.waiting?.reason ===
        'CrashLoopBackOff',
    );
    expect(crashing).toHaveLength(1);

    const pdb = await json(['get', 'pdb', 'payments-pdb', '-n', 'shop']);
    expect(pdb.status.disruptionsAllowed).toBe(0);

    expect(await fails(['get', 'deployment', 'nope', '-n', 'shop'])).toContain(
      'Error from server (NotFound): deployments.apps "nope" not found',
    );
  });

  it('--dry-run=server stores nothing and uses no resourceVersion', async () => {
    const before = rv();
    const deployment = await json(['get', 'deployment', 'redis', '-n', 'shop']);
    await ok([
      'scale',
      'deployment/redis',
      '-n',
      'shop',
      '--replicas=4',
      '--dry-run=server',
    ]);
    await ok([
      'patch',
      'deployment',
      'redis',
      '-n',
      'shop',
      '-p',
      '{"spec":{"replicas":5}}',
      '--dry-run=server',
    ]);
    await ok([
      'delete',
      'pod',
      '-n',
      'shop',
      '-l',
      'app=redis',
      '--dry-run=server',
    ]);
    await ok([
      'delete',
      'secret',
      'redis-password',
      '-n',
      'shop',
      '--dry-run=server',
    ]);
    await ok(['cordon', 'shop-node-1', '--dry-run=server']);
    await ok([
      'rollout',
      'undo',
      'deployment/storefront',
      '-n',
      'shop',
      '--dry-run=server',
    ]);
    await ok(
      [
        'apply',
        '--server-side',
        '--validate=false',
        '--dry-run=server',
        '-f',
        '-',
      ],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'x', namespace: 'shop' },
      }),
    );
    expect(rv()).toBe(before);
    const after = await json(['get', 'deployment', 'redis', '-n', 'shop']);
    expect(after).toEqual(deployment);
    expect(
      (await json(['get', 'node', 'shop-node-1'])).spec.unschedulable,
    ).toBeUndefined();
    expect(await kubectl.getOptional('configmap', 'x', 'shop')).toBeUndefined();
  });

  it('patches (strategic, merge, JSON), labels and refuses a stale PUT with 409', async () => {
    await ok(['label', 'deployment', 'redis', '-n', 'shop', 'tier=cache']);
    await ok([
      'patch',
      'deployment',
      'redis',
      '-n',
      'shop',
      '--type=merge',
      '-p',
      '{"spec":{"replicas":2}}',
    ]);
    await ok([
      'patch',
      'deployment',
      'redis',
      '-n',
      'shop',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/metadata/annotations/owner","value":"sre"}]',
    ]);
    await ok(['set', 'env', 'deployment/redis', '-n', 'shop', 'EXTRA=1']);
    const d = await json(['get', 'deployment', 'redis', '-n', 'shop']);
    expect(d.metadata.labels.tier).toBe('cache');
    expect(d.metadata.annotations.owner).toBe('sre');
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.containers[0].env).toContainEqual({
      name: 'EXTRA',
      value: '1',
    });
    expect(d.status.availableReplicas).toBe(2);

    const stale = { ...d, metadata: { ...d.metadata, resourceVersion: '1' } };
    const r = await kubectl.raw(['replace', '--validate=false', '-f', '-'], {
      stdin: JSON.stringify(stale),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Error from server (Conflict)');
    expect(r.stderr).toContain('the object has been modified');
  });

  it('rolls out, restarts, shows history and undoes like a deployment controller', async () => {
    await ok([
      'set',
      'image',
      'deployment/inventory',
      '-n',
      'shop',
      'inventory=registry.example.com/shop/inventory:4.4.0',
    ]);
    expect(
      await ok([
        'rollout',
        'status',
        'deployment/inventory',
        '-n',
        'shop',
        '--timeout=30s',
      ]),
    ).toContain('successfully rolled out');
    const pods = await json([
      'get',
      'pods',
      '-n',
      'shop',
      '-l',
      'app=inventory',
    ]);
    expect(pods.items.map((p: any) => p.spec.containers[0].image)).toEqual([
      'registry.example.com/shop/inventory:4.4.0',
      'registry.example.com/shop/inventory:4.4.0',
    ]);
    const history = await ok([
      'rollout',
      'history',
      'deployment/inventory',
      '-n',
      'shop',
    ]);
    expect(history).toMatch(/1\s+initial release 4\.2\.0/);
    expect(history).toMatch(/3\s+release 4\.3\.0/);

    await ok(['rollout', 'undo', 'deployment/inventory', '-n', 'shop']);
    await ok([
      'rollout',
      'status',
      'deployment/inventory',
      '-n',
      'shop',
      '--timeout=30s',
    ]);
    const d = await json(['get', 'deployment', 'inventory', '-n', 'shop']);
    expect(d.spec.template.spec.containers[0].image).toBe(
      'registry.example.com/shop/inventory:4.3.0',
    );
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe(
      '4',
    );
    expect(d.status).toMatchObject({
      replicas: 2,
      updatedReplicas: 2,
      availableReplicas: 2,
    });
    // the old ReplicaSet was reused: revision 2 became revision 4
    expect(
      await ok(['rollout', 'history', 'deployment/inventory', '-n', 'shop']),
    ).not.toMatch(/\n2\s/);

    await ok(['rollout', 'restart', 'deployment/inventory', '-n', 'shop']);
    await ok([
      'rollout',
      'status',
      'deployment/inventory',
      '-n',
      'shop',
      '--timeout=30s',
    ]);
    const restarted = await json([
      'get',
      'deployment',
      'inventory',
      '-n',
      'shop',
    ]);
    expect(
      restarted.spec.template.metadata.annotations[
        'kubectl.kubernetes.io/restartedAt'
      ],
    ).toBeTruthy();
    expect(restarted.metadata.generation).toBe(d.metadata.generation + 1);
  });

  it('deletes a pod and its ReplicaSet replaces it; scale changes the pod count', async () => {
    const pods = await json([
      'get',
      'pods',
      '-n',
      'shop',
      '-l',
      'app=notifications',
    ]);
    const victim = pods.items[0].metadata.name;
    expect(
      await ok(['delete', 'pod', victim, '-n', 'shop', '--grace-period=30']),
    ).toContain(`pod "${victim}" deleted`);
    const after = await json([
      'get',
      'pods',
      '-n',
      'shop',
      '-l',
      'app=notifications',
    ]);
    expect(after.items).toHaveLength(2);
    expect(after.items.map((p: any) => p.metadata.name)).not.toContain(victim);

    await ok([
      'scale',
      'deployment/notifications',
      '-n',
      'shop',
      '--replicas=5',
    ]);
    expect(
      (await json(['get', 'pods', '-n', 'shop', '-l', 'app=notifications']))
        .items,
    ).toHaveLength(5);
    await ok([
      'scale',
      'deployment/notifications',
      '-n',
      'shop',
      '--replicas=1',
    ]);
    expect(
      (await json(['get', 'pods', '-n', 'shop', '-l', 'app=notifications']))
        .items,
    ).toHaveLength(1);
  });

  it('answers an eviction blocked by a PodDisruptionBudget with 429, and drain reports it', async () => {
    const pod = (
      await json(['get', 'pods', '-n', 'shop', '-l', 'app=payments'])
    ).items[0];
    const response = await fetch(
      `${fake.url}/api/v1/namespaces/shop/pods/${pod.metadata.name}/eviction`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: pod.metadata.name, namespace: 'shop' },
        }),
      },
    );
    expect(response.status).toBe(429);
    expect(await response.json()).toMatchObject({
      kind: 'Status',
      reason: 'TooManyRequests',
      message:
        "Cannot evict pod as it would violate the pod's disruption budget.",
    });

    const node = pod.spec.nodeName;
    const r = await kubectl.raw([
      'drain',
      node,
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--timeout=3s',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "Cannot evict pod as it would violate the pod's disruption budget.",
    );
    expect(r.stderr).toContain('global timeout reached');
    const still = await json([
      'get',
      'pods',
      '-n',
      'shop',
      '-l',
      'app=payments',
    ]);
    expect(still.items.map((p: any) => p.metadata.name)).toContain(
      pod.metadata.name,
    );
  });

  it('drains a node: cordons it, evicts through the API, replacements go to schedulable nodes', async () => {
    // shop-node-3 runs no payments pod in the demo seed; its budgets allow one disruption each
    await ok(['delete', 'pod', '-n', 'shop', '-l', 'app=checkout']);
    const out = await ok([
      'drain',
      'shop-node-3',
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--timeout=60s',
    ]);
    expect(out).toContain('node/shop-node-3 drained');
    const left = await json([
      'get',
      'pods',
      '-A',
      '--field-selector',
      'spec.nodeName=shop-node-3',
    ]);
    expect(left.items.map((p: any) => p.metadata.labels.app)).toEqual([
      'log-agent',
    ]);
    const shop = await json(['get', 'pods', '-n', 'shop']);
    expect(
      shop.items.every(
        (p: any) => !['shop-node-3', 'shop-node-4'].includes(p.spec.nodeName),
      ),
    ).toBe(true);
    expect(
      (await json(['get', 'node', 'shop-node-3'])).spec.unschedulable,
    ).toBe(true);
    expect(await ok(['uncordon', 'shop-node-3'])).toContain('uncordoned');
  });

  it('refuses to drain a node with an unmanaged pod unless --force', async () => {
    await ok([
      'run',
      'bare',
      '-n',
      'shop',
      '--image=busybox',
      '--overrides',
      '{"spec":{"nodeName":"shop-node-2"}}',
    ]);
    const r = await kubectl.raw([
      'drain',
      'shop-node-2',
      '--ignore-daemonsets',
      '--dry-run=server',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('cannot delete Pods that declare no controller');
  });

  it('serves watches: rollout status waits for a change made while it watches', async () => {
    // a pending pod keeps the rollout open until a node can take it
    await ok(['cordon', 'shop-node-1']);
    await ok(['cordon', 'shop-node-2']);
    await ok(['cordon', 'shop-node-3']);
    await ok(['scale', 'deployment/redis', '-n', 'shop', '--replicas=2']);
    const waiting = kubectl.raw([
      'rollout',
      'status',
      'deployment/redis',
      '-n',
      'shop',
      '--timeout=60s',
    ]);
    // let kubectl list and start watching, then make room
    await new Promise(resolve => setTimeout(resolve, 1000));
    await ok(['uncordon', 'shop-node-2']);
    const r = await waiting;
    expect(r.stdout).toContain('successfully rolled out');
  });
});
