import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { callTool, connectInMemory } from '../../__testUtils__/mcp';
import { createTerraformServer, TerraformServerOptions } from '../server';

/** The demo workspace the tests copy: it is what the local portal serves. */
export const DEMO_WORKSPACE = path.resolve(
  __dirname,
  '../../../../../examples/targets/terraform/orders-db',
);

const terraformMissing =
  spawnSync('terraform', ['version'], { stdio: 'ignore' }).error !== undefined;
if (terraformMissing) {
  if (process.env.CI === 'true') {
    throw new Error(
      'terraform is not on PATH, and under CI=true the Terraform tests may not be skipped',
    );
  }
  // eslint-disable-next-line no-console
  console.warn(
    'terraform is not on PATH: skipping the Terraform server tests (install terraform >= 1.4 to run them)',
  );
}

/** `describe`, or `describe.skip` when terraform is missing outside CI. */
export const describeWithTerraform = terraformMissing
  ? describe.skip
  : describe;

/** A temp root holding a copy of the demo workspace as `orders-db`. */
export function makeRoot() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-test-'));
  const root = path.join(base, 'root');
  const dir = path.join(root, 'orders-db');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(
    path.join(DEMO_WORKSPACE, 'main.tf'),
    path.join(dir, 'main.tf'),
  );
  return {
    base,
    root,
    dir,
    cleanup: () => fs.rmSync(base, { recursive: true, force: true }),
  };
}

/** The state file's bytes (empty when there is none) and serial. */
export function readStateFile(dir: string) {
  const file = path.join(dir, 'terraform.tfstate');
  if (!fs.existsSync(file)) return { bytes: '', serial: -1, ids: {} };
  const bytes = fs.readFileSync(file, 'utf8');
  const state = JSON.parse(bytes) as {
    serial: number;
    resources: Array<{
      type: string;
      name: string;
      instances: Array<{ attributes: { id: string } }>;
    }>;
  };
  const ids: Record<string, string> = {};
  for (const r of state.resources) {
    ids[`${r.type}.${r.name}`] = r.instances[0].attributes.id;
  }
  return { bytes, serial: state.serial, ids };
}

/** Runs terraform directly, as someone else working on the same workspace would. */
export function terraformDirectly(dir: string, args: string[]) {
  const rc = path.join(dir, '..', '..', 'outside.tfrc');
  fs.writeFileSync(rc, '');
  const result = spawnSync('terraform', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TF_CLI_CONFIG_FILE: rc,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
    },
  });
  if (result.status !== 0) {
    throw new Error(`terraform ${args.join(' ')}: ${result.stderr}`);
  }
  return result.stdout;
}

/** An MCP client connected in memory to a fresh server. */
export function connect(options: TerraformServerOptions) {
  return connectInMemory(createTerraformServer(options));
}

export { callTool };
