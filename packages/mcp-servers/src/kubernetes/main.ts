import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServerMain } from '../contract';
import { createKubeApiFake, demoClusterSeed } from './fake';
import {
  createKubernetesServer,
  KubernetesServerOptions,
} from './KubernetesServer';

function flag(argv: string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const value = argv[at + 1];
  if (value === undefined || value.startsWith('--')) {
    throw new Error(`${name} needs a value`);
  }
  return value;
}

/**
 * Entry of `runbooks-mcp-kubernetes`: `--kubeconfig <file>`, `--context <name>`, `--max-scale <n>`,
 * or `--demo-cluster` to run against an in-process fake API server seeded with the demo cluster;
 * `--http <port>` for streamable HTTP instead of stdio.
 * @public
 */
export async function mainKubernetesServer(argv: string[]) {
  const options: KubernetesServerOptions = {
    kubeconfig: flag(argv, '--kubeconfig'),
    context: flag(argv, '--context'),
  };
  const maxScale = flag(argv, '--max-scale');
  if (maxScale !== undefined) {
    options.maxScale = Number(maxScale);
    if (!Number.isInteger(options.maxScale) || options.maxScale < 0) {
      throw new Error('--max-scale must be a non-negative integer');
    }
  }
  if (argv.includes('--demo-cluster')) {
    if (options.kubeconfig || options.context) {
      throw new Error(
        '--demo-cluster cannot be combined with --kubeconfig or --context',
      );
    }
    const fake = await createKubeApiFake({ seed: demoClusterSeed() });
    const dir = mkdtempSync(join(tmpdir(), 'runbooks-demo-cluster-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    options.kubeconfig = await fake.writeKubeconfig(join(dir, 'kubeconfig'));
    options.cacheDir = join(dir, 'cache');
    process.stderr.write(
      `runbooks-mcp-kubernetes: *** DEMO CLUSTER *** kubectl talks to a FAKE Kubernetes API at ${fake.url} ` +
        `(in-process, seeded with the demo shop), NOT a real cluster. kubeconfig: ${options.kubeconfig}\n`,
    );
  }
  await runServerMain(
    'runbooks-mcp-kubernetes',
    () => createKubernetesServer(options),
    argv,
  );
}

/**
 * Entry of `runbooks-kube-fake`: serves the demo cluster on `--port <n>` (default: a free port)
 * and writes a kubeconfig for it with `--kubeconfig-out <file>`.
 * @public
 */
export async function mainKubeFake(argv: string[]) {
  const port = Number(flag(argv, '--port') ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error('--port must be a port number');
  const fake = await createKubeApiFake({
    seed: demoClusterSeed(),
    port,
    host: flag(argv, '--host'),
  });
  const out = flag(argv, '--kubeconfig-out');
  if (out) await fake.writeKubeconfig(out);
  process.stderr.write(
    `runbooks-kube-fake: FAKE Kubernetes API (the demo cluster, not a real cluster) on ${fake.url}` +
      `${out ? `; kubeconfig written to ${out}` : ''}\n`,
  );
  process.stdout.write(`${fake.url}\n`);
  const stop = () => {
    fake.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
