import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { callTool, connectInMemory } from '../../__testUtils__/mcp';
import { parse, stringify } from 'yaml';
import { AnsibleServerOptions, createAnsibleServer } from '../server';

/** The demo target the tests run: the playbooks and inventory the local portal uses. */
export const DEMO_ROOT = path.resolve(
  __dirname,
  '../../../../../examples/targets/ansible',
);

const ansibleMissing =
  spawnSync('ansible-playbook', ['--version'], { stdio: 'ignore' }).error !==
  undefined;
if (ansibleMissing) {
  if (process.env.CI === 'true') {
    throw new Error(
      'ansible-playbook is not on PATH, and under CI=true the Ansible tests may not be skipped',
    );
  }
  // eslint-disable-next-line no-console
  console.warn(
    'ansible-playbook is not on PATH: skipping the Ansible server tests (apt-get install ansible-core to run them)',
  );
}

/** `describe`, or `describe.skip` when ansible-playbook is missing outside CI. */
export const describeWithAnsible = ansibleMissing ? describe.skip : describe;

/** Playbooks only the tests use, in a second root. */
const TEST_PLAYBOOKS: Record<string, string> = {
  // changes a file in check mode, then fails only for real
  'fails-on-apply.yml': `
- hosts: rabbitmq
  gather_facts: false
  tasks:
    - name: Write a marker
      ansible.builtin.copy:
        content: "marker\\n"
        dest: "{{ demo_state_dir }}/{{ inventory_hostname }}/marker"
    - name: Run out of disk
      ansible.builtin.fail:
        msg: "disk full on {{ inventory_hostname }}"
      when: not ansible_check_mode
`,
  // check mode skips a command: the plan cannot say what it does
  'runs-a-command.yml': `
- hosts: redis
  gather_facts: false
  tasks:
    - name: Run a command
      ansible.builtin.command: /bin/true
`,
  'ping-ghosts.yml': `
- hosts: ghosts
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
`,
  'read-only/echo.yml': `
- hosts: redis
  gather_facts: false
  tasks:
    - name: Echo the value
      ansible.builtin.debug:
        msg: "{{ value }}"
    - name: Report it
      ansible.builtin.set_stats:
        data: { value: "{{ value }}", length: "{{ value | length }}" }
        per_host: true
`,
  'read-only/sneaky.yml': `
- hosts: redis
  gather_facts: false
  tasks:
    - name: Write although read-only
      ansible.builtin.copy:
        content: "sneaky\\n"
        dest: "{{ demo_state_dir }}/{{ inventory_hostname }}/sneaky"
`,
  'outside.yml': `
- hosts: redis
  gather_facts: false
  tasks: []
`,
};

/**
 * A temp copy of the demo inventory pointing at a temp state dir (plus an unreachable host group
 * `ghosts`), and a second root of test playbooks with symlinks that lead out of their folders.
 */
export function makeTarget() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ansible-test-'));
  const stateDir = path.join(base, 'state');
  const inventory = path.join(base, 'inventory.yaml');
  const demo = parse(
    fs.readFileSync(path.join(DEMO_ROOT, 'inventory.yaml'), 'utf8'),
  );
  demo.all.vars.demo_state_dir = stateDir;
  demo.all.children.ghosts = {
    hosts: {
      'ghost-1': {
        ansible_connection: 'ssh',
        ansible_host: '127.0.0.1',
        ansible_port: 1,
      },
    },
  };
  fs.writeFileSync(inventory, stringify(demo));
  const testRoot = path.join(base, 'test-playbooks');
  for (const [file, text] of Object.entries(TEST_PLAYBOOKS)) {
    fs.mkdirSync(path.dirname(path.join(testRoot, file)), { recursive: true });
    fs.writeFileSync(path.join(testRoot, file), text);
  }
  fs.renameSync(
    path.join(testRoot, 'outside.yml'),
    path.join(base, 'outside.yml'),
  );
  fs.symlinkSync(
    path.join(base, 'outside.yml'),
    path.join(testRoot, 'escape.yml'),
  );
  // from read-only/ to a playbook of the root: out of the reviewed folder
  fs.symlinkSync(
    path.join(testRoot, 'fails-on-apply.yml'),
    path.join(testRoot, 'read-only', 'not-reviewed.yml'),
  );
  return {
    base,
    stateDir,
    inventory,
    roots: [DEMO_ROOT, testRoot],
    cleanup: () => fs.rmSync(base, { recursive: true, force: true }),
  };
}

function write(file: string, text: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** Where purge-queue and inspect-queue keep the messages of a queue of vhost `/`. */
export function queueDir(stateDir: string, host: string, queue: string) {
  return path.join(stateDir, host, 'rabbitmq/vhosts/%2F/queues', queue);
}

/** Fresh demo state: orders.dlq (3 and 2 messages), orders, cache keys, one failed unit. */
export function seedState(stateDir: string) {
  fs.rmSync(stateDir, { recursive: true, force: true });
  for (const [host, count] of [
    ['rabbitmq-1', 3],
    ['rabbitmq-2', 2],
  ] as const) {
    for (let i = 1; i <= count; i++) {
      write(
        path.join(queueDir(stateDir, host, 'orders.dlq'), `msg-${i}.json`),
        `{"order":${i}}`,
      );
    }
    write(
      path.join(queueDir(stateDir, host, 'orders'), 'msg-live.json'),
      '{"order":"live"}',
    );
  }
  for (const key of ['session:alice', 'session:bob', 'fragment:home']) {
    write(path.join(stateDir, 'redis-1/redis/keys', key), `cached ${key}`);
  }
  for (const [host, state] of [
    ['payments-gw-1', 'failed'],
    ['payments-gw-2', 'active'],
  ]) {
    const unit = path.join(stateDir, host, 'systemd/payments-gateway.service');
    write(path.join(unit, 'restarts'), '0\n');
    write(path.join(unit, 'state'), `${state}\n`);
  }
}

/** Every file under a dir with its content, by relative path. */
export function readTree(dir: string): Record<string, string> {
  const tree: Record<string, string> = {};
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), {
      withFileTypes: true,
    })) {
      const rel = path.join(sub, entry.name);
      if (entry.isDirectory()) walk(rel);
      else tree[rel] = fs.readFileSync(path.join(dir, rel), 'utf8');
    }
  };
  if (fs.existsSync(dir)) walk('');
  return tree;
}

/** An MCP client connected in memory to a fresh server. */
export function connect(options: AnsibleServerOptions) {
  return connectInMemory(createAnsibleServer(options));
}

export { callTool };
