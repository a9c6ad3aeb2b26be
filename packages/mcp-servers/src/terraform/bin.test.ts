import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  callTool,
  describeWithTerraform,
  makeRoot,
  readStateFile,
} from './__testUtils__';

jest.setTimeout(120_000);

/** Polls until the condition holds; the jest timeout bounds it. */
async function waitFor(condition: () => boolean) {
  while (!condition()) await new Promise(resolve => setTimeout(resolve, 50));
}

const BIN = path.resolve(__dirname, '../../bin/runbooks-mcp-terraform');

describeWithTerraform('the runbooks-mcp-terraform bin over stdio', () => {
  let env: ReturnType<typeof makeRoot>;
  let client: Client;

  beforeEach(() => {
    env = makeRoot();
  });

  afterEach(async () => {
    await client?.close();
    env.cleanup();
  });

  it('serves the tools and plans, applies and shows the state of a workspace', async () => {
    client = new Client({ name: 'test', version: '0.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, '--root', env.root],
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
        stderr: 'pipe',
      }),
    );
    const { tools } = await client.listTools();
    expect(tools.map(t => t.name).sort()).toEqual([
      'apply',
      'plan',
      'show-state',
    ]);

    const dry = await callTool(client, 'apply', {
      workspace: 'orders-db',
      dryRun: true,
    });
    expect(dry.output!.plan.objectCount).toBe(4);
    expect(readStateFile(env.dir).serial).toBe(-1);
    const applied = await callTool(client, 'apply', {
      workspace: 'orders-db',
      expectedPlanDigest: dry.output!.planDigest,
    });
    expect(applied.output!.applied).toBe(true);

    const shown = await callTool(client, 'show-state', {
      workspace: 'orders-db',
      address: 'terraform_data.primary',
    });
    expect(shown.output!.found).toBe(true);
    expect(shown.output!.resource.values.id).toBe(
      readStateFile(env.dir).ids['terraform_data.primary'],
    );
  });

  it('takes its roots from RUNBOOKS_TERRAFORM_ROOTS and removes its temp state when it stops', async () => {
    const second = path.join(env.base, 'second');
    fs.mkdirSync(path.join(second, 'edge'), { recursive: true });
    fs.writeFileSync(path.join(second, 'edge', 'main.tf'), '');
    const tmp = path.join(env.base, 'tmp');
    fs.mkdirSync(tmp);
    client = new Client({ name: 'test', version: '0.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN],
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          TMPDIR: tmp,
          RUNBOOKS_TERRAFORM_ROOTS: [env.root, second].join(path.delimiter),
        },
        stderr: 'pipe',
      }),
    );
    const unknown = await callTool(client, 'show-state', { workspace: 'x' });
    expect(unknown.text).toBe(
      "unknown workspace 'x'; known workspaces: edge, orders-db",
    );
    const edge = await callTool(client, 'show-state', { workspace: 'edge' });
    expect(edge.output).toEqual({
      workspace: 'edge',
      resources: [],
      outputs: {},
    });
    expect(fs.readdirSync(tmp)).toEqual([
      expect.stringMatching(/^runbooks-terraform-/),
    ]);

    await client.close();

    await waitFor(() => fs.readdirSync(tmp).length === 0);
  });
});
