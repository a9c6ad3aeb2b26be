import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  callTool,
  connect,
  describeWithTerraform,
  makeRoot,
  readStateFile,
  terraformDirectly,
} from './__testUtils__';

jest.setTimeout(120_000);

const WS = 'orders-db';
const REPLICA = 'terraform_data.read_replica';

describeWithTerraform(
  'the Terraform server with the real terraform CLI',
  () => {
    let env: ReturnType<typeof makeRoot>;
    let client: Client;

    /** Creates every resource of the demo through the server itself. */
    async function applyAll() {
      const dry = await callTool(client, 'apply', {
        workspace: WS,
        dryRun: true,
      });
      expect(dry.isError).toBe(false);
      const applied = await callTool(client, 'apply', {
        workspace: WS,
        expectedPlanDigest: dry.output!.planDigest,
      });
      expect(applied.isError).toBe(false);
      return { dry, applied };
    }

    beforeEach(async () => {
      env = makeRoot();
      client = await connect({
        roots: [env.root],
        stateDir: path.join(env.base, 'state'),
      });
    });

    afterEach(async () => {
      await client.close();
      env.cleanup();
    });

    it('lists its tools with the contract and the right annotations', async () => {
      const { tools } = await client.listTools();
      const byName = Object.fromEntries(tools.map(t => [t.name, t]));
      expect(Object.keys(byName).sort()).toEqual([
        'apply',
        'plan',
        'show-state',
      ]);
      expect(byName['show-state'].annotations?.readOnlyHint).toBe(true);
      expect(byName.plan.annotations?.readOnlyHint).toBe(true);
      expect(byName.apply.annotations).toMatchObject({
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
      });
      expect(Object.keys(byName.apply.inputSchema.properties ?? {})).toEqual(
        expect.arrayContaining([
          'workspace',
          'replace',
          'targets',
          'dryRun',
          'expectedPlanDigest',
          'snapshot',
        ]),
      );
    });

    it('creates the demo resources from an empty state through a dry-run and its digest', async () => {
      const empty = await callTool(client, 'show-state', { workspace: WS });
      expect(empty.output).toEqual({
        workspace: WS,
        resources: [],
        outputs: {},
      });

      const { dry, applied } = await applyAll();
      expect(
        dry.output!.plan.changes.map((c: any) => [c.action, c.address]),
      ).toEqual([
        ['create', 'terraform_data.backup_schedule'],
        ['create', 'terraform_data.connection_pooler'],
        ['create', 'terraform_data.primary'],
        ['create', REPLICA],
      ]);
      expect(dry.output!.plan.objectCount).toBe(4);
      // ids are unknown before the apply and stay out of the digest
      expect(dry.output!.plan.changes[2].after.id).toBe('(known after apply)');

      expect(applied.output).toMatchObject({ applied: true, objectCount: 4 });
      const { ids } = readStateFile(env.dir);
      expect(Object.keys(ids).sort()).toEqual([
        'terraform_data.backup_schedule',
        'terraform_data.connection_pooler',
        'terraform_data.primary',
        REPLICA,
      ]);
      expect(applied.output!.outputs).toEqual({
        primary_id: ids['terraform_data.primary'],
      });
    });

    it('shows the state, and one resource by address', async () => {
      await applyAll();
      const { ids } = readStateFile(env.dir);
      const shown = await callTool(client, 'show-state', {
        workspace: WS,
        address: REPLICA,
      });
      expect(shown.isError).toBe(false);
      expect(shown.output!.found).toBe(true);
      expect(shown.output!.resource).toEqual({
        address: REPLICA,
        mode: 'managed',
        type: 'terraform_data',
        name: 'read_replica',
        values: expect.objectContaining({
          id: ids[REPLICA],
          input: expect.objectContaining({ replicates: 'orders-db-primary' }),
        }),
      });
      expect(shown.output!.resources).toHaveLength(4);

      const missing = await callTool(client, 'show-state', {
        workspace: WS,
        address: 'terraform_data.nope',
      });
      expect(missing.output).toMatchObject({ found: false, resource: null });
    });

    it('dry-runs a replace without changing the state, with the same digest each time', async () => {
      await applyAll();
      const before = readStateFile(env.dir);

      const first = await callTool(client, 'apply', {
        workspace: WS,
        replace: [REPLICA],
        dryRun: true,
      });
      const second = await callTool(client, 'apply', {
        workspace: WS,
        replace: [REPLICA],
        dryRun: true,
      });
      const preview = await callTool(client, 'plan', {
        workspace: WS,
        replace: [REPLICA],
      });

      expect(first.isError).toBe(false);
      expect(second.output!.planDigest).toBe(first.output!.planDigest);
      expect(preview.output!.planDigest).toBe(first.output!.planDigest);
      const plan = first.output!.plan;
      expect(plan.changes).toEqual([
        expect.objectContaining({
          action: 'replace',
          kind: 'terraform_data',
          name: REPLICA,
          address: REPLICA,
          reason: 'replace_by_request',
          before: expect.objectContaining({ id: before.ids[REPLICA] }),
          after: expect.objectContaining({ id: '(known after apply)' }),
        }),
      ]);
      expect(plan.diff).toContain(
        '# terraform_data.read_replica will be replaced, as requested',
      );
      expect(plan.diff).toContain('Plan: 1 to add, 0 to change, 1 to destroy.');
      expect(plan.diff).not.toContain(env.base);

      const after = readStateFile(env.dir);
      expect(after.serial).toBe(before.serial);
      expect(after.bytes).toBe(before.bytes);
    });

    it('applies with the right digest exactly the planned replace', async () => {
      await applyAll();
      const before = readStateFile(env.dir);
      const snapshotBefore = await callTool(client, 'apply', {
        workspace: WS,
        replace: [REPLICA],
        snapshot: true,
      });
      const dry = await callTool(client, 'apply', {
        workspace: WS,
        replace: [REPLICA],
        dryRun: true,
      });

      const applied = await callTool(client, 'apply', {
        workspace: WS,
        replace: [REPLICA],
        expectedPlanDigest: dry.output!.planDigest,
      });

      expect(applied.isError).toBe(false);
      expect(applied.output).toMatchObject({
        applied: true,
        objectCount: 1,
        changes: [
          { address: REPLICA, action: 'replace', kind: 'terraform_data' },
        ],
      });
      const after = readStateFile(env.dir);
      expect(after.serial).toBeGreaterThan(before.serial);
      expect(after.ids[REPLICA]).not.toBe(before.ids[REPLICA]);
      for (const address of Object.keys(before.ids).filter(
        a => a !== REPLICA,
      )) {
        expect(after.ids[address]).toBe(before.ids[address]);
      }
      // the snapshot is the state: only the replica's values differ afterwards
      const snapshotAfter = await callTool(client, 'apply', {
        workspace: WS,
        replace: [REPLICA],
        snapshot: true,
      });
      const changed = (snapshotAfter.output!.snapshot.resources as any[])
        .filter(
          (r, i) =>
            JSON.stringify(r) !==
            JSON.stringify(snapshotBefore.output!.snapshot.resources[i]),
        )
        .map(r => r.address);
      expect(changed).toEqual([REPLICA]);
    });

    it('refuses an apply whose state changed after the dry-run, and changes nothing', async () => {
      await applyAll();
      const dry = await callTool(client, 'apply', {
        workspace: WS,
        replace: [REPLICA],
        dryRun: true,
      });
      // someone else replaces the replica first
      terraformDirectly(env.dir, [
        'apply',
        '-input=false',
        '-auto-approve',
        `-replace=${REPLICA}`,
      ]);
      const changedElsewhere = readStateFile(env.dir);

      const refused = await callTool(client, 'apply', {
        workspace: WS,
        replace: [REPLICA],
        expectedPlanDigest: dry.output!.planDigest,
      });

      expect(refused.isError).toBe(true);
      expect(refused.text).toMatch(/plan changed since it was approved/);
      const after = readStateFile(env.dir);
      expect(after.bytes).toBe(changedElsewhere.bytes);
    });

    it('refuses an apply without a digest, and changes nothing', async () => {
      await applyAll();
      const before = readStateFile(env.dir);
      const refused = await callTool(client, 'apply', {
        workspace: WS,
        replace: [REPLICA],
      });
      expect(refused.isError).toBe(true);
      expect(refused.text).toMatch(/needs expectedPlanDigest/);
      expect(readStateFile(env.dir).bytes).toBe(before.bytes);
    });

    it('plans the resources a replace drags along, so a runbook can stop it', async () => {
      await applyAll();
      const preview = await callTool(client, 'plan', {
        workspace: WS,
        replace: ['terraform_data.primary'],
      });
      expect(
        preview.output!.changes.map((c: any) => [
          c.action,
          c.address,
          c.reason,
        ]),
      ).toEqual([
        [
          'replace',
          'terraform_data.connection_pooler',
          'replace_because_cannot_update',
        ],
        ['replace', 'terraform_data.primary', 'replace_by_request'],
      ]);
    });

    it('refuses to replace an address that is not in the state', async () => {
      await applyAll();
      const before = readStateFile(env.dir);
      const result = await callTool(client, 'apply', {
        workspace: WS,
        replace: ['terraform_data.nope'],
        dryRun: true,
      });
      expect(result.isError).toBe(true);
      expect(result.text).toContain(
        "cannot replace terraform_data.nope: not in the state of workspace 'orders-db'",
      );
      expect(readStateFile(env.dir).bytes).toBe(before.bytes);
    });

    it('rejects addresses that could be read as flags or are not addresses', async () => {
      for (const replace of [
        ['-target=terraform_data.primary'],
        ['terraform_data.primary -auto-approve'],
        ['terraform_data'],
      ]) {
        const result = await callTool(client, 'apply', {
          workspace: WS,
          replace,
          dryRun: true,
        });
        expect(result.isError).toBe(true);
        expect(result.text).toMatch(/resource address/);
      }
      const target = await callTool(client, 'plan', {
        workspace: WS,
        targets: ['-lock=false'],
      });
      expect(target.isError).toBe(true);
    });

    it('rejects path traversal, absolute paths, flags and unknown workspaces', async () => {
      fs.mkdirSync(path.join(env.base, 'outside'));
      fs.copyFileSync(
        path.join(env.dir, 'main.tf'),
        path.join(env.base, 'outside', 'main.tf'),
      );
      for (const workspace of [
        '../outside',
        'orders-db/../../outside',
        path.join(env.base, 'outside'),
        '-chdir=/tmp',
        '.terraform',
      ]) {
        const result = await callTool(client, 'show-state', { workspace });
        expect(result.isError).toBe(true);
        expect(result.text).toMatch(/workspace name/);
      }
      const unknown = await callTool(client, 'show-state', {
        workspace: 'nope',
      });
      expect(unknown.isError).toBe(true);
      expect(unknown.text).toBe(
        "unknown workspace 'nope'; known workspaces: orders-db",
      );
    });

    it('rejects a symlink that leads outside the root', async () => {
      fs.mkdirSync(path.join(env.base, 'outside'));
      fs.copyFileSync(
        path.join(env.dir, 'main.tf'),
        path.join(env.base, 'outside', 'main.tf'),
      );
      fs.symlinkSync(
        path.join(env.base, 'outside'),
        path.join(env.root, 'escape'),
      );
      const result = await callTool(client, 'apply', {
        workspace: 'escape',
        dryRun: true,
      });
      expect(result.isError).toBe(true);
      expect(result.text).toBe(
        "workspace 'escape' leads outside its Terraform root; known workspaces: orders-db",
      );
      expect(fs.readdirSync(path.join(env.base, 'outside'))).toEqual([
        'main.tf',
      ]);
    });

    it('masks what Terraform marks sensitive in the state, the plan and the outputs', async () => {
      const dir = path.join(env.root, 'secrets');
      fs.mkdirSync(dir);
      fs.writeFileSync(
        path.join(dir, 'main.tf'),
        [
          'variable "password" {',
          '  type      = string',
          '  default   = "s3cret-value"',
          '  sensitive = true',
          '}',
          'resource "terraform_data" "credentials" {',
          '  input = { user = "orders", password = var.password }',
          '}',
          'output "password" {',
          '  value     = var.password',
          '  sensitive = true',
          '}',
        ].join('\n'),
      );
      terraformDirectly(dir, ['apply', '-input=false', '-auto-approve']);

      const shown = await callTool(client, 'show-state', {
        workspace: 'secrets',
        address: 'terraform_data.credentials',
      });
      expect(shown.output!.resource.values.input).toEqual({
        password: '(sensitive value)',
        user: 'orders',
      });
      expect(shown.output!.outputs).toEqual({ password: '(sensitive value)' });

      const dry = await callTool(client, 'apply', {
        workspace: 'secrets',
        replace: ['terraform_data.credentials'],
        dryRun: true,
      });
      const [change] = dry.output!.plan.changes;
      expect(change.before.input.password).toBe('(sensitive value)');
      expect(change.after.input.password).toBe('(sensitive value)');
    });
  },
);
