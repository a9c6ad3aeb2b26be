import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createKubeApiFake,
  demoClusterSeed,
  KubeApiFake,
  KubeFakeSeed,
} from './fake';
import { Kubectl } from './Kubectl';
import { createKubernetesServer } from './KubernetesServer';

// Test helpers: a fake cluster, the real kubectl against it, and an MCP client for the server.

/** Whether the kubectl binary can be run here. */
export const kubectlMissing =
  spawnSync('kubectl', ['version', '--client=true', '-o', 'json']).error !==
  undefined;

/**
 * `describe` for suites that need kubectl: `describe.skip` (with a message) when it is missing, and
 * a failing suite module when it is missing under `CI=true`.
 */
export function describeWithKubectl(): jest.Describe {
  if (!kubectlMissing) return describe;
  if (process.env.CI === 'true') {
    throw new Error(
      'kubectl is not installed, and CI must run the kubernetes tests',
    );
  }
  // eslint-disable-next-line no-console
  console.warn(
    'SKIPPED: kubectl is not installed on this machine; the kubernetes tests need it',
  );
  return describe.skip;
}

/** A fake cluster, a kubectl for it and an MCP client connected to the Kubernetes server. */
export interface TestCluster {
  fake: KubeApiFake;
  kubectl: Kubectl;
  client: Client;
  /** Calls a tool; returns its structured result, or `{ error }` for an error result. */
  call(name: string, args: Record<string, unknown>): Promise<any>;
  /** Every text the server returned so far (to search for leaked values). */
  transcript: string[];
  close(): Promise<void>;
}

/** Starts a fake cluster (the demo seed unless given) and a server and client for it. */
export async function startTestCluster(
  options: { seed?: KubeFakeSeed; maxScale?: number } = {},
): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'kube-test-'));
  const fake = await createKubeApiFake({
    seed: options.seed ?? demoClusterSeed(),
  });
  const kubeconfig = await fake.writeKubeconfig(join(dir, 'kubeconfig'));
  const kubectlOptions = { kubeconfig, cacheDir: join(dir, 'cache') };
  const server = createKubernetesServer({
    ...kubectlOptions,
    maxScale: options.maxScale,
  });
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'kubernetes-test', version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  const transcript: string[] = [];
  return {
    fake,
    kubectl: new Kubectl(kubectlOptions),
    client,
    transcript,
    async call(name, args) {
      const result: any = await client.callTool({ name, arguments: args });
      transcript.push(JSON.stringify(result));
      if (result.isError)
        return { error: result.content?.[0]?.text ?? 'error' };
      return result.structuredContent;
    },
    async close() {
      await client.close();
      await server.close();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What {@link exerciseContract} leaves for the tool-specific checks of the apply. */
export interface ContractRun {
  /** The plan that was applied. */
  plan: any;
  /** Snapshots right before and after the apply. */
  before: any;
  after: any;
  /** The apply's result. */
  result: any;
}

/**
 * The tool contract, checked against the fake cluster: a dry-run changes nothing (snapshot and the
 * cluster's resourceVersion are unchanged), two dry-runs of the same state give one digest, an
 * apply with a digest made stale by `interfere` is refused and changes nothing, an apply without a
 * digest is refused, and an apply with the fresh digest succeeds.
 */
export async function exerciseContract(
  t: TestCluster,
  tool: string,
  input: Record<string, unknown>,
  interfere: () => Promise<unknown>,
): Promise<ContractRun> {
  const rv = () => t.fake.cluster.resourceVersion();
  const snapshot = async () => {
    const out = await t.call(tool, { ...input, snapshot: true });
    expect(out.error).toBeUndefined();
    return out.snapshot;
  };

  const rv0 = rv();
  const initial = await snapshot();
  const dry = await t.call(tool, { ...input, dryRun: true });
  expect(dry.error).toBeUndefined();
  expect(dry.planDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(await snapshot()).toEqual(initial);
  expect(rv()).toBe(rv0);

  const again = await t.call(tool, { ...input, dryRun: true });
  expect(again.planDigest).toBe(dry.planDigest);
  expect(again.plan).toEqual(dry.plan);

  expect((await t.call(tool, input)).error).toMatch(/needs expectedPlanDigest/);
  expect(rv()).toBe(rv0);

  await interfere();
  const rv1 = rv();
  const changed = await snapshot();
  const refused = await t.call(tool, {
    ...input,
    expectedPlanDigest: dry.planDigest,
  });
  expect(refused.error).toMatch(/plan changed since it was approved/);
  expect(rv()).toBe(rv1);
  expect(await snapshot()).toEqual(changed);

  const fresh = await t.call(tool, { ...input, dryRun: true });
  expect(fresh.error).toBeUndefined();
  expect(fresh.planDigest).not.toBe(dry.planDigest);
  const before = await snapshot();
  const result = await t.call(tool, {
    ...input,
    expectedPlanDigest: fresh.planDigest,
  });
  expect(result.error).toBeUndefined();
  return { plan: fresh.plan, before, after: await snapshot(), result };
}
