import path from 'node:path';
import { parseArgs } from 'node:util';
import { runServerMain } from '../contract';
import { prepareDemoTargets } from '../demo';
import { AnsibleCli } from './AnsibleCli';
import { throwOnFailure } from './report';
import { AnsibleServerOptions, createAnsibleServer } from './server';

/**
 * Entry of `runbooks-mcp-ansible`: `--root <dir>` (repeatable; else `RUNBOOKS_ANSIBLE_ROOTS`, separated
 * by the path delimiter), `--inventory <file>` (else `RUNBOOKS_ANSIBLE_INVENTORY`), `--timeout-ms`,
 * `--http <port>`; `--demo` serves a copy of `examples/targets/ansible` (stand-in files, local hosts).
 * @public
 */
export async function mainAnsibleServer(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      root: { type: 'string', multiple: true },
      inventory: { type: 'string' },
      'timeout-ms': { type: 'string' },
      http: { type: 'string' },
      host: { type: 'string' },
      demo: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  const demo = values.demo ? prepareDemoTargets('ansible') : undefined;
  const roots = [
    ...(demo ? [demo.dir] : []),
    ...(values.root?.length
      ? values.root
      : (process.env.RUNBOOKS_ANSIBLE_ROOTS ?? '')
          .split(path.delimiter)
          .filter(Boolean)),
  ];
  const inventory =
    values.inventory ??
    (demo ? path.join(demo.dir, 'inventory.yaml') : undefined) ??
    process.env.RUNBOOKS_ANSIBLE_INVENTORY ??
    '';
  if (!inventory) {
    throw new Error(
      'runbooks-mcp-ansible needs --inventory <file> or RUNBOOKS_ANSIBLE_INVENTORY',
    );
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
  const options: AnsibleServerOptions = { roots, inventory, timeoutMs };
  // made once up front: a bad root or inventory fails the start, not the first call
  await createAnsibleServer(options).close();
  if (demo) {
    process.stderr.write(
      `runbooks-mcp-ansible: DEMO playbooks in ${demo.dir} (they change stand-in files, not services)\n`,
    );
    if (demo.created) await seedDemo(demo.dir, inventory);
  }
  await runServerMain(
    'runbooks-mcp-ansible',
    () => createAnsibleServer(options),
    argv,
  );
}

/** Resets the demo's stand-in state with its seed playbook (not a tool: it lives outside the roots' names). */
async function seedDemo(dir: string, inventory: string) {
  const cli = new AnsibleCli({ inventory, timeoutMs: 120_000 });
  await cli.withWorkspace(async (ws, sanitize) => {
    const report = await cli.runPlaybook(
      ws,
      sanitize,
      path.join(dir, 'seed', 'seed-demo-state.yml'),
      { limit: 'all', signal: new AbortController().signal, check: false },
    );
    throwOnFailure(report, sanitize, 'seeding the demo state');
  });
}
