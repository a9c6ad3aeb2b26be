import fs from 'node:fs';
import path from 'node:path';
import { ToolError } from '../contract';
import { TerraformCli } from './TerraformCli';
import {
  describeWithTerraform,
  makeRoot,
  readStateFile,
  terraformDirectly,
} from './__testUtils__';
import { TerraformWorkspaces } from './workspaces';

jest.setTimeout(120_000);

describeWithTerraform('TerraformCli with the real terraform CLI', () => {
  let env: ReturnType<typeof makeRoot>;
  const signal = new AbortController().signal;

  beforeEach(() => {
    env = makeRoot();
    terraformDirectly(env.dir, ['apply', '-input=false', '-auto-approve']);
  });

  afterEach(() => env.cleanup());

  it('surfaces terraform refusing a saved plan made against an older state', async () => {
    const cli = new TerraformCli({
      stateDir: path.join(env.base, 'state'),
      timeoutMs: 60_000,
    });
    const workspace = new TerraformWorkspaces([env.root]).resolve('orders-db');
    const saved = await cli.plan(
      workspace,
      { replace: ['terraform_data.read_replica'], targets: [] },
      signal,
    );
    expect(saved.hasChanges).toBe(true);
    const kept = cli.keepPlan(workspace, saved.file, 'a'.repeat(64));
    // the state moves on between the plan and its apply
    terraformDirectly(env.dir, [
      'apply',
      '-input=false',
      '-auto-approve',
      '-replace=terraform_data.backup_schedule',
    ]);
    const moved = readStateFile(env.dir);

    const applying = cli.applySavedPlan(workspace, kept, signal);

    await expect(applying).rejects.toThrow(ToolError);
    await expect(applying).rejects.toThrow(
      "terraform refused the saved plan for workspace 'orders-db': the state changed after the plan was made; nothing was applied",
    );
    expect(readStateFile(env.dir).bytes).toBe(moved.bytes);
  });

  it('gives terraform its own CLI configuration and only the environment it needs', async () => {
    const dir = path.join(env.root, 'env-check');
    fs.mkdirSync(dir);
    // local-exec inherits terraform's environment: it shows what the child got
    fs.writeFileSync(
      path.join(dir, 'main.tf'),
      'resource "terraform_data" "probe" {\n  provisioner "local-exec" {\n    command = "env > env.txt"\n  }\n}\n',
    );
    process.env.RUNBOOKS_TEST_SECRET = 'do-not-pass';
    try {
      const stateDir = path.join(env.base, 'state');
      const cli = new TerraformCli({ stateDir, timeoutMs: 60_000 });
      const workspace = new TerraformWorkspaces([env.root]).resolve(
        'env-check',
      );
      const saved = await cli.plan(
        workspace,
        { replace: [], targets: [] },
        signal,
      );
      await cli.applySavedPlan(workspace, saved.file, signal);

      const childEnv = Object.fromEntries(
        fs
          .readFileSync(path.join(dir, 'env.txt'), 'utf8')
          .trim()
          .split('\n')
          .map(line => [line.split('=')[0], line.slice(line.indexOf('=') + 1)]),
      );
      expect(childEnv).toMatchObject({
        TF_CLI_CONFIG_FILE: path.join(stateDir, 'terraformrc'),
        TF_IN_AUTOMATION: '1',
        TF_INPUT: '0',
        CHECKPOINT_DISABLE: '1',
      });
      expect(childEnv.RUNBOOKS_TEST_SECRET).toBeUndefined();
      expect(fs.readFileSync(path.join(stateDir, 'terraformrc'), 'utf8')).toBe(
        '',
      );
    } finally {
      delete process.env.RUNBOOKS_TEST_SECRET;
    }
  });
});
