// The runbook library end to end: every runbook of runbooks/ that acts through the project's MCP
// servers runs through the real engine, first as a dry-run (nothing may change) and then executed
// (approvals given by a second person where the runbook asks), against the real kubectl (talking
// to the Kubernetes API fake), terraform (terraform_data) and ansible-playbook (connection: local).
import { Entity } from '@backstage/catalog-model';
import { McpServerConfig } from '@runbooks/plugin-runbooks-node';
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { root, report } from '../fault/common';
import { runbookAppliesTo } from '@runbooks/plugin-runbooks-common';
import { RunbookHealthChecker } from '../../plugins/runbooks-backend/src/health';
import { bin, demoEntities, libraryRunbooks, startEngine } from './harness';

/** A binary the suite needs: present, or (outside CI) the suite skips and says why. */
function has(binary: string): boolean {
  try {
    execFileSync(
      binary,
      binary === 'kubectl' ? ['version', '--client'] : ['--version'],
      { stdio: 'ignore' },
    );
    return true;
  } catch {
    if (process.env.CI === 'true') {
      throw new Error(`${binary} is required in CI but is not installed`);
    }
    process.stdout.write(
      `# SKIP: ${binary} is not installed, its runbooks are not exercised\n`,
    );
    return false;
  }
}

interface Case {
  runbook: string;
  entity: string;
  parameters?: Record<string, unknown>;
  /** Extra checks on the executed run. */
  check?: (run: Settled) => void | Promise<void>;
}
type Engine = Awaited<ReturnType<typeof startEngine>>;
type Settled = Awaited<ReturnType<Engine['settle']>>;

const figures: Record<string, unknown> = {};

async function exercise(engine: Engine, c: Case) {
  const runbooks = await libraryRunbooks();
  const entities = demoEntities();
  const runbook = runbooks.get(c.runbook)!;
  const entity = entities.get(c.entity) as Entity;
  assert.ok(runbook, `no runbook ${c.runbook}`);
  assert.ok(entity, `no entity ${c.entity}`);
  const mutating = runbook.spec.steps.filter(s => s.mutates);

  const dry = await engine.request(
    runbook,
    entity,
    c.parameters ?? {},
    'dry-run',
  );
  const planned = await engine.settle(dry.id);
  assert.equal(
    planned.execution.status,
    'succeeded',
    `${c.runbook} dry-run: ${planned.execution.statusMessage}`,
  );
  for (const step of planned.steps) {
    const spec = runbook.spec.steps.find(s => s.id === step.stepId)!;
    if (!spec.mutates) continue;
    assert.match(step.planDigest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok((step.plan as any).objectCount >= 0);
    // a dry-run never reaches an apply
    assert.notEqual(step.phase, 'apply');
  }

  // the dry-run changed nothing: a fresh dry-run plans exactly the same changes
  const again = await engine.settle(
    (
      await engine.request(runbook, entity, c.parameters ?? {}, 'dry-run')
    ).id,
  );
  assert.equal(again.execution.status, 'succeeded');
  assert.deepEqual(
    again.steps.map(s => s.planDigest),
    planned.steps.map(s => s.planDigest),
    `${c.runbook}: the plans of two dry-runs differ, so the first one changed something`,
  );

  const run = await engine.request(
    runbook,
    entity,
    c.parameters ?? {},
    'execute',
  );
  const done = await engine.settle(run.id);
  assert.equal(
    done.execution.status,
    'succeeded',
    `${c.runbook} execute: ${done.execution.statusMessage}`,
  );
  assert.deepEqual(
    done.approved,
    runbook.spec.steps.filter(s => s.approval === 'always').map(s => s.id),
    `${c.runbook}: the steps that asked for approval`,
  );
  const diffs: Record<string, boolean> = {};
  for (const step of done.steps) {
    const spec = runbook.spec.steps.find(s => s.id === step.stepId)!;
    if (!spec.mutates) continue;
    assert.equal(step.status, 'succeeded');
    assert.ok(
      step.before !== undefined,
      `${step.stepId} has a before snapshot`,
    );
    assert.ok(step.after !== undefined, `${step.stepId} has an after snapshot`);
    diffs[step.stepId] = step.diff !== null && step.diff !== undefined;
  }
  figures[c.runbook] = {
    steps: runbook.spec.steps.length,
    mutating: mutating.length,
    approvals: done.approved.length,
    changedState: diffs,
  };
  await c.check?.(done);
  return done;
}

describe('the runbook library through the engine and the MCP servers', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'runbooks-library-'));
  after(() => {
    report('library-runbooks', figures);
    rmSync(work, { recursive: true, force: true });
  });

  describe('terraform', { skip: !has('terraform') }, () => {
    let engine: Engine;
    before(async () => {
      const roots = path.join(work, 'terraform');
      cpSync(path.join(root, 'examples/targets/terraform'), roots, {
        recursive: true,
      });
      const servers: McpServerConfig[] = [
        {
          name: 'terraform',
          transport: 'stdio',
          command: process.execPath,
          args: [bin('terraform'), '--root', roots],
          env: {},
        },
      ];
      engine = await startEngine(servers);
      // the workspace's resources exist before the runbook replaces one of them
      const planned = await engine.pool.invoke({
        tool: 'terraform/apply',
        input: { workspace: 'orders-db' },
        dryRun: true,
        idempotencyKey: 'seed',
        signal: new AbortController().signal,
        timeoutMs: 120_000,
      });
      assert.equal(planned.error, undefined);
      const applied = await engine.pool.invoke({
        tool: 'terraform/apply',
        input: { workspace: 'orders-db' },
        dryRun: false,
        expectedPlanDigest: planned.planDigest,
        idempotencyKey: 'seed',
        signal: new AbortController().signal,
        timeoutMs: 120_000,
      });
      assert.equal(applied.error, undefined);
    });
    after(() => engine?.stop());

    it('replace-terraform-resource replaces exactly the named resource', async () => {
      await exercise(engine, {
        runbook: 'replace-terraform-resource',
        entity: 'resource:orders-db',
        parameters: { address: 'terraform_data.read_replica' },
        check: run => {
          const step = run.steps.find(s => s.stepId === 'replace')!;
          const ids = (snapshot: any) =>
            Object.fromEntries(
              snapshot.resources.map((r: any) => [r.address, r.values.id]),
            );
          const beforeIds = ids(step.before);
          const afterIds = ids(step.after);
          assert.notEqual(
            afterIds['terraform_data.read_replica'],
            beforeIds['terraform_data.read_replica'],
          );
          for (const address of Object.keys(beforeIds)) {
            if (address === 'terraform_data.read_replica') continue;
            assert.equal(afterIds[address], beforeIds[address], address);
          }
        },
      });
    });
  });

  describe('ansible', { skip: !has('ansible-playbook') }, () => {
    let engine: Engine;
    let state: string;
    before(async () => {
      const targets = path.join(work, 'ansible');
      state = path.join(work, 'ansible-state');
      cpSync(path.join(root, 'examples/targets/ansible'), targets, {
        recursive: true,
      });
      // the demo inventory, with its stand-in state in this suite's own directory
      const inventory = path.join(targets, 'inventory.yaml');
      writeFileSync(
        inventory,
        readFileSync(inventory, 'utf8').replace(
          /demo_state_dir: .*/,
          `demo_state_dir: ${JSON.stringify(state)}`,
        ),
      );
      execFileSync(
        'ansible-playbook',
        ['-i', inventory, path.join(targets, 'seed/seed-demo-state.yml')],
        { stdio: 'ignore', env: { ...process.env, ANSIBLE_NOCOLOR: '1' } },
      );
      engine = await startEngine([
        {
          name: 'ansible',
          transport: 'stdio',
          command: process.execPath,
          args: [bin('ansible'), '--root', targets, '--inventory', inventory],
          env: {},
        },
      ]);
    });
    after(() => engine?.stop());

    const files = (dir: string) =>
      existsSync(dir) ? readdirSync(dir).sort() : [];

    it('purge-dead-letter-queue empties the .dlq queue on every broker and leaves the live queue', async () => {
      const dlq = (host: string) =>
        path.join(state, host, 'rabbitmq/vhosts/%2F/queues/orders.dlq');
      const live = path.join(
        state,
        'rabbitmq-1/rabbitmq/vhosts/%2F/queues/orders',
      );
      assert.ok(files(dlq('rabbitmq-1')).length > 0);
      await exercise(engine, {
        runbook: 'purge-dead-letter-queue',
        entity: 'resource:orders-queue',
      });
      assert.deepEqual(files(dlq('rabbitmq-1')), []);
      assert.deepEqual(files(dlq('rabbitmq-2')), []);
      assert.deepEqual(files(live), ['msg-live-1.json']);
    });

    it('flush-cache-prefix deletes only the keys under the prefix', async () => {
      const keys = path.join(state, 'redis-1/redis/keys');
      await exercise(engine, {
        runbook: 'flush-cache-prefix',
        entity: 'resource:session-cache',
        parameters: { prefix: 'fragment:' },
      });
      assert.deepEqual(files(keys), ['session:alice', 'session:bob']);
    });

    it('restart-systemd-service restarts the unit on every gateway host', async () => {
      const unit = (host: string) =>
        path.join(state, host, 'systemd/payments-gateway.service');
      const before = files(unit('payments-gw-1')).map(f =>
        readFileSync(path.join(unit('payments-gw-1'), f), 'utf8'),
      );
      await exercise(engine, {
        runbook: 'restart-systemd-service',
        entity: 'component:payments-gateway',
      });
      const after = files(unit('payments-gw-1')).map(f =>
        readFileSync(path.join(unit('payments-gw-1'), f), 'utf8'),
      );
      assert.notDeepEqual(after, before);
    });
  });

  describe('kubernetes', { skip: !has('kubectl') }, () => {
    let engine: Engine;
    const read = async (tool: string, input: Record<string, unknown>) => {
      const result = await engine.pool.invoke({
        tool: `kubernetes/${tool}`,
        input,
        dryRun: false,
        idempotencyKey: 'test-read',
        signal: new AbortController().signal,
        timeoutMs: 60_000,
      });
      assert.equal(result.error, undefined, result.error ?? '');
      return result.output as any;
    };
    before(async () => {
      // kubectl against the Kubernetes API fake seeded with the demo shop (in the server process)
      engine = await startEngine([
        {
          name: 'kubernetes',
          transport: 'stdio',
          command: process.execPath,
          args: [bin('kubernetes'), '--demo-cluster'],
          env: {},
        },
      ]);
    });
    after(() => engine?.stop());

    it('a health sweep changes nothing, finds the demo healthy and a renamed deployment drifted', async t => {
      const runbooks = [...(await libraryRunbooks()).values()].filter(r =>
        r.spec.steps.some(s => s.tool.startsWith('kubernetes/')),
      );
      const entities = [...demoEntities().values()];
      // deliberate drift: an entity whose deployment was renamed in the cluster
      const renamed = JSON.parse(
        JSON.stringify(entities.find(e => e.metadata.name === 'checkout')),
      ) as Entity;
      renamed.metadata.name = 'checkout-renamed';
      renamed.metadata.annotations!['backstage.io/kubernetes-id'] =
        'checkout-v1';
      // every call, to prove no tool was asked to apply anything
      const calls: Array<{ tool: string; dryRun: boolean; readOnly: boolean }> =
        [];
      const recording = {
        describe: (tool: string) => engine.pool.describe(tool),
        snapshot: (request: any) => engine.pool.snapshot(request),
        invoke: async (call: any) => {
          const description = await engine.pool.describe(call.tool);
          calls.push({
            tool: call.tool,
            dryRun: call.dryRun,
            readOnly: description?.annotations?.readOnlyHint === true,
          });
          return engine.pool.invoke(call);
        },
      };
      const checker = new RunbookHealthChecker({ tools: recording });
      const deployments = async () =>
        Object.fromEntries(
          await Promise.all(
            ['checkout', 'storefront', 'inventory', 'catalog-service'].map(
              async name => {
                const d = await read('get-deployment', {
                  namespace: 'shop',
                  name,
                });
                return [name, `${d.generation}/${d.replicas}/${d.revision}`];
              },
            ),
          ),
        );
      const before = await deployments();
      const results = [];
      for (const entity of [...entities, renamed]) {
        for (const runbook of runbooks) {
          if (runbookAppliesTo(runbook, entity).length === 0) continue;
          results.push(await checker.check(runbook, entity));
        }
      }
      const after = await deployments();
      assert.deepEqual(after, before, 'the sweep changed the cluster');
      const applies = calls.filter(c => !c.dryRun && !c.readOnly);
      assert.deepEqual(applies, [], 'a tool was asked to apply');
      const found = results.flatMap(r =>
        r.findings.map(
          f => `${r.runbookRef} ${r.entityRef} ${f.kind} ${f.stepId}`,
        ),
      );
      // every runbook of the renamed entity that reads or plans on the deployment by itself
      // (delete-pod and rotate-secret need a pod or a secret a person names: not checked)
      const expected = [
        'runbook:default/restart-deployment component:default/checkout-renamed missing-object current',
        'runbook:default/restart-deployment component:default/checkout-renamed missing-object restart',
        'runbook:default/rollback-deployment component:default/checkout-renamed missing-object history',
        'runbook:default/scale-deployment component:default/checkout-renamed missing-object current',
      ];
      assert.deepEqual(found.sort(), expected.sort(), 'drift found');
      assert.ok(
        results.some(
          r =>
            r.runbookRef === 'runbook:default/restart-deployment' &&
            r.entityRef === 'component:default/checkout' &&
            r.status === 'healthy',
        ),
      );
      t.diagnostic(
        `drift (kubernetes): ${results.length} runbook × entity pairs checked; findings expected ${expected.length}, found ${found.length} (all of them, none spurious); mutating calls during the sweep: ${applies.length}; ${calls.length} read or dry-run calls`,
      );
    });

    it('restart-deployment rolls every pod of checkout', async () => {
      const pods = async () =>
        (
          await read('list-pods', {
            namespace: 'shop',
            labelSelector: 'app=checkout',
          })
        ).items
          .map((p: any) => p.name)
          .sort();
      const before = await pods();
      await exercise(engine, {
        runbook: 'restart-deployment',
        entity: 'component:checkout',
      });
      const after = await pods();
      assert.equal(after.length, before.length);
      assert.deepEqual(
        after.filter((p: string) => before.includes(p)),
        [],
        'every pod was replaced',
      );
    });

    it('scale-deployment sets the replica count', async () => {
      await exercise(engine, {
        runbook: 'scale-deployment',
        entity: 'component:inventory',
        parameters: { replicas: 4 },
      });
      const deployment = await read('get-deployment', {
        namespace: 'shop',
        name: 'inventory',
      });
      assert.equal(deployment.replicas, 4);
      assert.equal(deployment.availableReplicas, 4);
    });

    it('scale-deployment to the count it already runs stops at its precondition, before any change', async () => {
      const runbook = (await libraryRunbooks()).get('scale-deployment')!;
      const entity = demoEntities().get('component:inventory') as Entity;
      const before = await read('get-deployment', {
        namespace: 'shop',
        name: 'inventory',
      });
      for (const mode of ['dry-run', 'execute'] as const) {
        const run = await engine.request(
          runbook,
          entity,
          { replicas: before.replicas },
          mode,
        );
        const done = await engine.settle(run.id);
        assert.equal(done.execution.status, 'failed');
        const scale = done.steps.find(step => step.stepId === 'scale')!;
        assert.equal(scale.status, 'failed');
        assert.equal(
          scale.error,
          `Precondition failed: The deployment already runs that many replicas. (\`steps.current.output.replicas != parameters.replicas\` is false). It saw steps.current.output.replicas = ${before.replicas}, parameters.replicas = ${before.replicas}; it depends on the state read by step 'current' (the system now) and the parameter 'replicas' (from the request). Nothing was changed.`,
        );
        // the tool was never asked for a plan
        assert.equal(scale.planDigest, undefined);
      }
      const after = await read('get-deployment', {
        namespace: 'shop',
        name: 'inventory',
      });
      assert.equal(after.generation, before.generation);
    });

    it('delete-crashlooping-pod deletes the pod and its replacement comes up', async () => {
      const { items } = await read('list-pods', {
        namespace: 'shop',
        labelSelector: 'app=storefront',
      });
      const victim = items[0].name;
      await exercise(engine, {
        runbook: 'delete-crashlooping-pod',
        entity: 'component:storefront',
        parameters: { pod: victim },
      });
      const now = await read('list-pods', {
        namespace: 'shop',
        labelSelector: 'app=storefront',
      });
      assert.ok(!now.items.some((p: any) => p.name === victim));
      assert.equal(now.items.length, items.length);
    });

    it('rollback-deployment returns to the previous revision', async () => {
      const history = await read('rollout-history', {
        namespace: 'shop',
        deployment: 'catalog-service',
      });
      await exercise(engine, {
        runbook: 'rollback-deployment',
        entity: 'component:catalog-service',
        parameters: { reason: 'INC-1234: bad release' },
      });
      const after = await read('rollout-history', {
        namespace: 'shop',
        deployment: 'catalog-service',
      });
      assert.notEqual(after.currentRevision, history.currentRevision);
    });

    it('rotate-secret writes a new value and restarts the consumers, never showing a value', async () => {
      const before = await read('get-secret-metadata', {
        namespace: 'shop',
        name: 'checkout-api-token',
      });
      const run = await exercise(engine, {
        runbook: 'rotate-secret',
        entity: 'component:checkout',
        parameters: { secret: 'checkout-api-token', key: 'token' },
      });
      const after = await read('get-secret-metadata', {
        namespace: 'shop',
        name: 'checkout-api-token',
      });
      assert.notEqual(after.resourceVersion, before.resourceVersion);
      // the demo secret's seeded value appears nowhere in the record of the run
      const record = JSON.stringify(run);
      assert.ok(!record.includes('demo-checkout'), 'a secret value leaked');
    });

    it('drain-node then uncordon-node: evictions respect PodDisruptionBudgets', async () => {
      // a node whose pods may all be evicted (the demo payments budget allows no disruption)
      let node: string | undefined;
      for (const candidate of ['shop-node-1', 'shop-node-2', 'shop-node-3']) {
        const { items } = await read('list-pdbs', { node: candidate });
        if (
          items.every(
            (b: any) => b.disruptionsAllowed > 0 || b.pods?.length === 0,
          )
        ) {
          node = candidate;
          break;
        }
      }
      assert.ok(node, 'a node without blocking budgets');
      await exercise(engine, {
        runbook: 'drain-node',
        entity: 'resource:shop-cluster',
        parameters: { node },
      });
      const drained = await read('get-node', { name: node });
      assert.equal(drained.unschedulable, true);
      await exercise(engine, {
        runbook: 'uncordon-node',
        entity: 'resource:shop-cluster',
        parameters: { node },
      });
      assert.equal(
        (await read('get-node', { name: node })).unschedulable,
        false,
      );
    });
  });
});
