import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  callTool,
  describeWithAnsible,
  makeTarget,
  readTree,
  seedState,
} from './__testUtils__';

jest.setTimeout(180_000);

const BIN = path.resolve(__dirname, '../../bin/runbooks-mcp-ansible');

describeWithAnsible('the runbooks-mcp-ansible bin over stdio', () => {
  let target: ReturnType<typeof makeTarget>;
  let client: Client | undefined;

  beforeEach(() => {
    target = makeTarget();
    seedState(target.stateDir);
  });

  afterEach(async () => {
    await client?.close();
    client = undefined;
    target.cleanup();
  });

  async function start(args: string[], env: Record<string, string> = {}) {
    client = new Client({ name: 'test', version: '0.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, ...args],
        env: { PATH: process.env.PATH ?? '', ...env },
        stderr: 'pipe',
      }),
    );
    return client;
  }

  it('gathers, plans and applies with --root and --inventory', async () => {
    const c = await start([
      '--root',
      target.roots[0],
      '--root',
      target.roots[1],
      '--inventory',
      target.inventory,
    ]);
    const { tools } = await c.listTools();
    expect(tools.map(t => t.name).sort()).toEqual(['gather', 'run-playbook']);

    const gathered = await callTool(c, 'gather', {
      playbook: 'inspect-queue',
      limit: 'rabbitmq-2',
      extraVars: { queue: 'orders.dlq' },
    });
    expect(gathered.output!.hosts).toEqual([
      {
        host: 'rabbitmq-2',
        stats: { queue: 'orders.dlq', vhost: '/', exists: true, messages: 2 },
        messages: ['orders.dlq in vhost /: 2 messages'],
      },
    ]);

    const input = {
      playbook: 'flush-redis-prefix',
      limit: 'redis',
      extraVars: { prefix: 'fragment:', max_keys: 10 },
    };
    const before = readTree(target.stateDir);
    const dry = await callTool(c, 'run-playbook', { ...input, dryRun: true });
    expect(dry.output!.plan.changes).toEqual([
      expect.objectContaining({
        action: 'delete',
        name: 'Delete the keys',
        host: 'redis-1',
      }),
    ]);
    expect(readTree(target.stateDir)).toEqual(before);
    const applied = await callTool(c, 'run-playbook', {
      ...input,
      expectedPlanDigest: dry.output!.planDigest,
    });
    expect(applied.output!.hosts[0].stats).toEqual({
      prefix: 'fragment:',
      flushed: 1,
      remaining: 0,
    });
    const expected = { ...before };
    delete expected['redis-1/redis/keys/fragment:home'];
    expect(readTree(target.stateDir)).toEqual(expected);
  });

  it('takes its roots and inventory from the environment when no flags are given', async () => {
    const c = await start([], {
      RUNBOOKS_ANSIBLE_ROOTS: target.roots.join(path.delimiter),
      RUNBOOKS_ANSIBLE_INVENTORY: target.inventory,
    });
    const result = await callTool(c, 'gather', {
      playbook: 'echo',
      limit: 'redis',
      extraVars: { value: 'from the test root' },
    });
    expect(result.output!.hosts[0].messages).toEqual(['from the test root']);
  });
});
