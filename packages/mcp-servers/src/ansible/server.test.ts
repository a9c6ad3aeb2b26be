import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  callTool,
  connect,
  describeWithAnsible,
  makeTarget,
  queueDir,
  readTree,
  seedState,
} from './__testUtils__';

jest.setTimeout(180_000);

const purge = {
  playbook: 'purge-queue',
  limit: 'rabbitmq',
  extraVars: { queue: 'orders.dlq', vhost: '/' },
};
const restart = {
  playbook: 'restart-systemd-unit',
  limit: 'payments_gateway',
  extraVars: { unit: 'payments-gateway.service', serial: 1 },
};
const flush = {
  playbook: 'flush-redis-prefix',
  limit: 'redis',
  extraVars: { prefix: 'session:', max_keys: 100 },
};

/** The file paths a plan's file-module diffs name. */
function plannedPaths(plan: { changes: Array<{ before?: string }> }) {
  return plan.changes
    .flatMap(c => [...(c.before ?? '').matchAll(/^path: (.+)$/gm)])
    .map(m => m[1])
    .sort();
}

describeWithAnsible('the Ansible server with the real ansible-playbook', () => {
  let target: ReturnType<typeof makeTarget>;
  let client: Client;

  beforeAll(async () => {
    target = makeTarget();
    client = await connect({
      roots: target.roots,
      inventory: target.inventory,
    });
  });

  afterAll(async () => {
    await client?.close();
    target?.cleanup();
  });

  beforeEach(() => seedState(target.stateDir));

  it('declares run-playbook mutating, destructive and not idempotent, and gather read-only', async () => {
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map(t => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(['gather', 'run-playbook']);
    expect(byName['run-playbook'].annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
    });
    expect(byName.gather.annotations).toMatchObject({ readOnlyHint: true });
    expect(Object.keys(byName['run-playbook'].inputSchema.properties!)).toEqual(
      expect.arrayContaining(['playbook', 'limit', 'extraVars', 'dryRun']),
    );
  });

  it('gather returns what inspect-queue reports per host, and changes nothing', async () => {
    const before = readTree(target.stateDir);
    const result = await callTool(client, 'gather', {
      playbook: 'inspect-queue',
      limit: 'rabbitmq',
      extraVars: { queue: 'orders.dlq', vhost: '/' },
    });
    expect(result.isError).toBe(false);
    expect(result.output).toEqual({
      playbook: 'inspect-queue',
      hosts: [
        {
          host: 'rabbitmq-1',
          stats: { queue: 'orders.dlq', vhost: '/', exists: true, messages: 3 },
          messages: ['orders.dlq in vhost /: 3 messages'],
        },
        {
          host: 'rabbitmq-2',
          stats: { queue: 'orders.dlq', vhost: '/', exists: true, messages: 2 },
          messages: ['orders.dlq in vhost /: 2 messages'],
        },
      ],
    });
    expect(readTree(target.stateDir)).toEqual(before);

    // what runbooks/purge-dead-letter-queue.yaml checks (verify and precondition)
    const hosts = result.output!.hosts as Array<{ stats: any }>;
    expect(hosts.every(h => h.stats.exists === true)).toBe(true);
    expect(hosts.some(h => h.stats.messages > 0)).toBe(true);
  });

  it('gather passes extra var strings as text, never as templates', async () => {
    const result = await callTool(client, 'gather', {
      playbook: 'echo',
      limit: 'redis',
      extraVars: { value: "{{ lookup('pipe', 'id') }}" },
    });
    expect(result.output!.hosts[0].messages).toEqual([
      "{{ lookup('pipe', 'id') }}",
    ]);
  });

  it('gather refuses a read-only playbook that would change something, and playbooks outside read-only/', async () => {
    const before = readTree(target.stateDir);
    const sneaky = await callTool(client, 'gather', {
      playbook: 'sneaky',
      limit: 'redis',
    });
    expect(sneaky.isError).toBe(true);
    expect(sneaky.text).toMatch(
      /read-only playbook 'sneaky' would change redis-1 \(task 'Write although read-only'\)/,
    );
    const mutating = await callTool(client, 'gather', {
      playbook: 'purge-queue',
      limit: 'rabbitmq',
      extraVars: { queue: 'orders.dlq' },
    });
    expect(mutating.isError).toBe(true);
    expect(mutating.text).toMatch(/unknown read-only playbook 'purge-queue'/);
    const linked = await callTool(client, 'gather', {
      playbook: 'not-reviewed',
      limit: 'rabbitmq',
    });
    expect(linked.isError).toBe(true);
    expect(linked.text).toMatch(/resolves outside its folder/);
    expect(readTree(target.stateDir)).toEqual(before);
  });

  it('a purge-queue dry-run changes nothing and plans one change per host and task, with a stable digest', async () => {
    const before = readTree(target.stateDir);
    const first = await callTool(client, 'run-playbook', {
      ...purge,
      dryRun: true,
    });
    const second = await callTool(client, 'run-playbook', {
      ...purge,
      dryRun: true,
    });
    expect(readTree(target.stateDir)).toEqual(before);
    expect(first.isError).toBe(false);
    expect(second.output!.planDigest).toBe(first.output!.planDigest);

    const plan = first.output!.plan;
    expect(plan.objectCount).toBe(2);
    expect(plan.hosts).toEqual(['rabbitmq-1', 'rabbitmq-2']);
    expect(
      plan.changes.map((c: any) => [c.action, c.kind, c.name, c.host]),
    ).toEqual([
      ['delete', 'ansible-task', 'Delete the messages', 'rabbitmq-1'],
      ['delete', 'ansible-task', 'Delete the messages', 'rabbitmq-2'],
    ]);
    expect(plannedPaths(plan)).toEqual(
      [
        ...[1, 2, 3].map(i =>
          path.join(
            queueDir(target.stateDir, 'rabbitmq-1', 'orders.dlq'),
            `msg-${i}.json`,
          ),
        ),
        ...[1, 2].map(i =>
          path.join(
            queueDir(target.stateDir, 'rabbitmq-2', 'orders.dlq'),
            `msg-${i}.json`,
          ),
        ),
      ].sort(),
    );
    expect(plan.changes[0].after).toContain('state: absent');
    expect(plan.diff).toContain('-state: file\n+state: absent');
    expect(plan.diff).not.toMatch(/runbooks-ansible-|ansible-local-|<tmp>/);
  });

  it('an apply with a stale digest is refused and changes nothing', async () => {
    const dry = await callTool(client, 'run-playbook', {
      ...purge,
      dryRun: true,
    });
    fs.writeFileSync(
      path.join(
        queueDir(target.stateDir, 'rabbitmq-2', 'orders.dlq'),
        'msg-late.json',
      ),
      '{"order":"late"}',
    );
    const before = readTree(target.stateDir);
    const applied = await callTool(client, 'run-playbook', {
      ...purge,
      expectedPlanDigest: dry.output!.planDigest,
    });
    expect(applied.isError).toBe(true);
    expect(applied.text).toMatch(/plan changed since it was approved/);
    expect(readTree(target.stateDir)).toEqual(before);
  });

  it('an apply with the right digest deletes exactly the planned messages', async () => {
    const before = readTree(target.stateDir);
    const dry = await callTool(client, 'run-playbook', {
      ...purge,
      dryRun: true,
    });
    const applied = await callTool(client, 'run-playbook', {
      ...purge,
      expectedPlanDigest: dry.output!.planDigest,
    });
    expect(applied.isError).toBe(false);

    const planned = plannedPaths(dry.output!.plan).map(p =>
      path.relative(target.stateDir, p),
    );
    const expected = { ...before };
    for (const file of planned) delete expected[file];
    expect(readTree(target.stateDir)).toEqual(expected);
    expect(Object.keys(before).length - planned.length).toBe(
      Object.keys(expected).length,
    );

    const output = applied.output!;
    expect(output).toMatchObject({
      playbook: 'purge-queue',
      failed: 0,
      unreachable: 0,
    });
    expect(output.changed).toBe(2);
    expect(
      output.hosts.map((h: any) => [h.host, h.stats.purged, h.stats.remaining]),
    ).toEqual([
      ['rabbitmq-1', 3, 0],
      ['rabbitmq-2', 2, 0],
    ]);
    expect(output.tasks).toContainEqual({
      host: 'rabbitmq-1',
      task: 'Delete the messages',
      status: 'changed',
    });

    const again = await callTool(client, 'run-playbook', {
      ...purge,
      dryRun: true,
    });
    expect(again.output!.plan).toMatchObject({
      changes: [],
      objectCount: 0,
      diff: '',
    });
  });

  it('a loop over many items shows the first ones and binds the rest by a digest', async () => {
    const dir = queueDir(target.stateDir, 'rabbitmq-1', 'orders.dlq');
    fs.rmSync(dir, { recursive: true });
    fs.mkdirSync(dir);
    const name = (i: number) => `msg-${String(i).padStart(2, '0')}.json`;
    for (let i = 1; i <= 30; i++)
      fs.writeFileSync(path.join(dir, name(i)), '{}');
    const input = { ...purge, limit: 'rabbitmq-1', dryRun: true };
    const first = await callTool(client, 'run-playbook', input);
    const change = first.output!.plan.changes[0];
    expect(change.items).toBe(30);
    expect(change.itemsDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(plannedPaths(first.output!.plan)).toHaveLength(20);
    expect(change.before).toContain('… and 10 more');
    expect(first.output!.plan.diff).toContain('10 more changes like these');

    // same count, same first 20: only the hidden items differ
    fs.renameSync(path.join(dir, name(30)), path.join(dir, name(31)));
    const second = await callTool(client, 'run-playbook', input);
    expect(second.output!.plan.changes[0].before).toBe(change.before);
    expect(second.output!.planDigest).not.toBe(first.output!.planDigest);
  });

  it('purge-queue refuses a queue that is not a dead-letter queue', async () => {
    const before = readTree(target.stateDir);
    const result = await callTool(client, 'run-playbook', {
      ...purge,
      extraVars: { queue: 'orders' },
      dryRun: true,
    });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(
      /rabbitmq-1: failed in task 'Refuse anything but a dead-letter queue': refusing to purge queue 'orders'.*ends in \.dlq/,
    );
    expect(readTree(target.stateDir)).toEqual(before);
  });

  it('the snapshot is the before side of the planned changes, and changes with the state', async () => {
    const before = readTree(target.stateDir);
    const first = await callTool(client, 'run-playbook', {
      ...purge,
      snapshot: true,
    });
    const second = await callTool(client, 'run-playbook', {
      ...purge,
      snapshot: true,
    });
    expect(readTree(target.stateDir)).toEqual(before);
    expect(second.output).toEqual(first.output);
    const snapshot = first.output!.snapshot;
    expect(snapshot.playbook).toBe('purge-queue');
    expect(snapshot.hosts).toEqual(['rabbitmq-1', 'rabbitmq-2']);
    expect(snapshot.before.map((b: any) => [b.host, b.task])).toEqual([
      ['rabbitmq-1', 'Delete the messages'],
      ['rabbitmq-2', 'Delete the messages'],
    ]);
    expect(snapshot.before[1].before).toContain('msg-2.json\nstate: file');

    fs.rmSync(
      path.join(
        queueDir(target.stateDir, 'rabbitmq-2', 'orders.dlq'),
        'msg-2.json',
      ),
    );
    const third = await callTool(client, 'run-playbook', {
      ...purge,
      snapshot: true,
    });
    expect(third.output).not.toEqual(first.output);
  });

  it('restart-systemd-unit: stable digest although copy diffs name temp files; the apply restarts every host', async () => {
    const before = readTree(target.stateDir);
    const first = await callTool(client, 'run-playbook', {
      ...restart,
      dryRun: true,
    });
    const second = await callTool(client, 'run-playbook', {
      ...restart,
      dryRun: true,
    });
    expect(readTree(target.stateDir)).toEqual(before);
    expect(second.output!.planDigest).toBe(first.output!.planDigest);
    const plan = first.output!.plan;
    expect(plan.changes).toEqual([
      {
        action: 'update',
        kind: 'ansible-task',
        name: 'Restart the unit',
        host: 'payments-gw-1',
        before: '0\n',
        after: '1\n',
      },
      {
        action: 'update',
        kind: 'ansible-task',
        name: 'Mark the unit active',
        host: 'payments-gw-1',
        before: 'failed\n',
        after: 'active\n',
      },
      {
        action: 'update',
        kind: 'ansible-task',
        name: 'Restart the unit',
        host: 'payments-gw-2',
        before: '0\n',
        after: '1\n',
      },
    ]);
    expect(plan.objectCount).toBe(2);
    expect(plan.diff).toContain('-failed\n+active\n');
    expect(plan.diff).not.toMatch(/runbooks-ansible-|ansible-local-|<tmp>/);

    const applied = await callTool(client, 'run-playbook', {
      ...restart,
      expectedPlanDigest: first.output!.planDigest,
    });
    expect(applied.isError).toBe(false);
    const unit = (host: string, file: string) =>
      path.join(host, 'systemd/payments-gateway.service', file);
    expect(readTree(target.stateDir)).toEqual({
      ...before,
      [unit('payments-gw-1', 'restarts')]: '1\n',
      [unit('payments-gw-1', 'state')]: 'active\n',
      [unit('payments-gw-2', 'restarts')]: '1\n',
    });
    // what runbooks/restart-systemd-service.yaml verifies
    const output = applied.output!;
    expect(output.failed === 0 && output.unreachable === 0).toBe(true);
    expect(
      output.hosts.map((h: any) => [h.host, h.stats.active, h.stats.restarts]),
    ).toEqual([
      ['payments-gw-1', true, 1],
      ['payments-gw-2', true, 1],
    ]);
  });

  it('flush-redis-prefix deletes only the keys under the prefix, and refuses more than max_keys', async () => {
    const tooMany = await callTool(client, 'run-playbook', {
      ...flush,
      extraVars: { prefix: 'session:', max_keys: 1 },
      dryRun: true,
    });
    expect(tooMany.isError).toBe(true);
    expect(tooMany.text).toMatch(
      /2 keys match session:\*, more than max_keys \(1\)/,
    );

    const before = readTree(target.stateDir);
    const dry = await callTool(client, 'run-playbook', {
      ...flush,
      dryRun: true,
    });
    expect(readTree(target.stateDir)).toEqual(before);
    expect(dry.output!.plan.objectCount).toBe(1);
    const applied = await callTool(client, 'run-playbook', {
      ...flush,
      expectedPlanDigest: dry.output!.planDigest,
    });
    expect(applied.isError).toBe(false);
    const expected = { ...before };
    delete expected['redis-1/redis/keys/session:alice'];
    delete expected['redis-1/redis/keys/session:bob'];
    expect(readTree(target.stateDir)).toEqual(expected);
    expect(applied.output!.hosts[0].stats).toEqual({
      prefix: 'session:',
      flushed: 2,
      remaining: 0,
    });
  });

  it('a host failing during the apply is an error naming the host, task and message', async () => {
    const dry = await callTool(client, 'run-playbook', {
      playbook: 'fails-on-apply',
      limit: 'rabbitmq-1',
      dryRun: true,
    });
    expect(dry.output!.plan.objectCount).toBe(1);
    const applied = await callTool(client, 'run-playbook', {
      playbook: 'fails-on-apply',
      limit: 'rabbitmq-1',
      expectedPlanDigest: dry.output!.planDigest,
    });
    expect(applied.isError).toBe(true);
    expect(applied.text).toBe(
      "fails-on-apply failed on 1 host(s): rabbitmq-1: failed in task 'Run out of disk': disk full on rabbitmq-1",
    );
  });

  it('a task that check mode skips is planned as an unpredictable change of its host', async () => {
    const result = await callTool(client, 'run-playbook', {
      playbook: 'runs-a-command',
      limit: 'redis',
      dryRun: true,
    });
    expect(result.output!.plan).toMatchObject({
      changes: [
        {
          action: 'update',
          kind: 'ansible-task',
          name: 'Run a command',
          host: 'redis-1',
          unpredictable: true,
        },
      ],
      objectCount: 1,
    });
    expect(result.output!.plan.diff).toContain(
      'redis-1: Run a command: skipped in check mode; it runs, unplanned, on apply',
    );
  });

  it('an unreachable host is an error', async () => {
    const result = await callTool(client, 'run-playbook', {
      playbook: 'ping-ghosts',
      limit: 'ghosts',
      dryRun: true,
    });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/ghost-1: unreachable in task 'Ping'/);
  });

  it('rejects unknown playbooks, paths, symlinks out of the root, bad limits and reserved variables', async () => {
    const before = readTree(target.stateDir);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { ...purge, playbook: 'no-such-playbook' },
        /unknown playbook 'no-such-playbook'/,
      ],
      [{ ...purge, playbook: '../purge-queue' }, /playbook is a name/],
      [{ ...purge, playbook: 'read-only/inspect-queue' }, /playbook is a name/],
      [{ ...purge, playbook: 'escape' }, /resolves outside its folder/],
      [{ ...purge, limit: '-i' }, /limit must be an Ansible host pattern/],
      [
        { ...purge, limit: '@/etc/hosts' },
        /limit must be an Ansible host pattern/,
      ],
      [
        { ...purge, limit: 'no-such-host' },
        /limit 'no-such-host' matches no host/,
      ],
      [
        { ...purge, limit: 'redis' },
        /limit 'redis' matches no host that playbook 'purge-queue' targets/,
      ],
      [
        {
          ...purge,
          extraVars: { ...purge.extraVars, ansible_connection: 'local' },
        },
        /cannot set Ansible connection or magic variables/,
      ],
      [
        { ...purge, extraVars: { 'bad-name': 1 } },
        /extra var 'bad-name': names are identifiers/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await callTool(client, 'run-playbook', {
        ...args,
        dryRun: true,
      });
      expect({ args, isError: result.isError }).toEqual({
        args,
        isError: true,
      });
      expect(result.text).toMatch(message);
    }
    expect(readTree(target.stateDir)).toEqual(before);
  });
});
