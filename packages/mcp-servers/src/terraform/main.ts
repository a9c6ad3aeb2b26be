import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { runServerMain } from '../contract';
import { prepareDemoTargets } from '../demo';
import { createTerraformServer, TerraformServerOptions } from './server';

/**
 * Entry of `runbooks-mcp-terraform`: `--root <dir>` (repeatable) and the roots in
 * `RUNBOOKS_TERRAFORM_ROOTS` (separated by the path delimiter), `--state-dir <dir>`, `--pass-env <NAME>`
 * (repeatable: environment variables terraform may see, such as provider credentials), `--demo`,
 * `--http <port>`.
 * @public
 */
export async function mainTerraformServer(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      root: { type: 'string', multiple: true },
      'state-dir': { type: 'string' },
      'timeout-ms': { type: 'string' },
      http: { type: 'string' },
      host: { type: 'string' },
      demo: { type: 'boolean' },
      'pass-env': { type: 'string', multiple: true },
    },
    strict: true,
    allowPositionals: false,
  });
  const demo = values.demo ? prepareDemoTargets('terraform') : undefined;
  const roots = [
    ...(demo ? [demo.dir] : []),
    ...(values.root ?? []),
    ...(process.env.RUNBOOKS_TERRAFORM_ROOTS ?? '')
      .split(path.delimiter)
      .filter(Boolean),
  ];
  let stateDir = values['state-dir'];
  if (stateDir === undefined) {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'runbooks-terraform-'));
    process.once('exit', () =>
      fs.rmSync(own, { recursive: true, force: true }),
    );
    // the 'exit' handler runs only on a normal exit: turn the usual stop signals into one
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => process.exit(0));
    }
    stateDir = own;
  }
  const timeoutMs =
    values['timeout-ms'] === undefined
      ? undefined
      : Number(values['timeout-ms']);
  if (
    timeoutMs !== undefined &&
    !(Number.isInteger(timeoutMs) && timeoutMs > 0)
  ) {
    throw new Error(
      `--timeout-ms must be a positive integer, not ${values['timeout-ms']}`,
    );
  }
  const options: TerraformServerOptions = {
    roots,
    stateDir,
    timeoutMs,
    // provider credentials and TF_VAR_* reach terraform only when named here
    passEnv: values['pass-env'],
  };
  // one server made up front: a bad root fails the start, not the first call
  await createTerraformServer(options).close();
  if (demo) {
    process.stderr.write(
      `runbooks-mcp-terraform: DEMO workspaces in ${demo.dir} (terraform_data resources only, local state)\n`,
    );
    if (demo.created) await seedDemo(options);
  }
  await runServerMain(
    'runbooks-mcp-terraform',
    () => createTerraformServer(options),
    argv,
  );
}

/** Creates the demo workspaces' resources once, through the tool contract like any apply. */
async function seedDemo(options: TerraformServerOptions) {
  const server = createTerraformServer(options);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: 'demo-seed', version: '0' });
  await client.connect(b);
  try {
    for (const workspace of fs.readdirSync(options.roots[0])) {
      const planned = await client.callTool({
        name: 'apply',
        arguments: { workspace, dryRun: true },
      });
      const digest = (planned.structuredContent as { planDigest?: string })
        ?.planDigest;
      if (planned.isError || !digest) continue;
      await client.callTool({
        name: 'apply',
        arguments: { workspace, expectedPlanDigest: digest },
      });
    }
  } finally {
    await client.close();
    await server.close();
  }
}
