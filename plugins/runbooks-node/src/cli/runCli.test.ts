import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { runCli } from './runCli';

const root = path.resolve(__dirname, '../../../..');
const bin = path.resolve(__dirname, '../../bin/runbooks');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) },
  };
}

describe('runCli', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('exits 0 for the library', async () => {
    const { out, err, io } = capture();
    await expect(
      runCli(['validate', path.join(root, 'runbooks')], io),
    ).resolves.toBe(0);
    expect(out).toEqual([]);
    expect(err).toEqual(['11 valid runbook(s) in 11 file(s), 0 problem(s)']);
  });

  it('prints path:line:col: message and exits 1 on problems', async () => {
    const { out, io } = capture();
    const file = path.join(
      root,
      'plugins/runbooks-node/fixtures/invalid/duplicate-step-id.yaml',
    );
    await expect(runCli(['validate', file], io)).resolves.toBe(1);
    expect(out).toEqual([
      `${file}:20:11: spec.steps[1].id: duplicate step id 'read' (already used by spec.steps[0])`,
    ]);
  });

  it('prints the JSON Schema of the kind', async () => {
    const { out, io } = capture();
    await expect(runCli(['schema'], io)).resolves.toBe(0);
    const schema = JSON.parse(out.join('\n'));
    expect(schema.properties.kind).toEqual({
      type: 'string',
      const: 'Runbook',
    });
    expect(schema.properties.spec.properties.steps.type).toBe('array');
  });

  it('checks steps against the configured MCP tool servers with --tools', async () => {
    const { out, err, io } = capture();
    const dir = path.join(root, 'plugins/runbooks-node/fixtures/tools');
    const file = path.join(dir, 'runbooks.yaml');
    await expect(
      runCli(
        [
          'validate',
          '--tools',
          '--config',
          path.join(dir, 'app-config.yaml'),
          file,
        ],
        io,
      ),
    ).resolves.toBe(1);
    expect(err).toContain('--tools: 2 tool(s) from 1 of 1 server(s)');
    expect(out).toEqual([
      `${file}:37:13: spec.steps[0] (unknown): no configured tool server offers noop/teleport`,
      `${file}:45:9: spec.steps[1] (too-much): input rejected by noop/change's schema: /by must be <= 100`,
      `${file}:47:13: spec.steps[2] (sneaky): the step declares mutates: false but noop/change is not declared read-only (readOnlyHint); declare the step mutating, with a dry-run`,
      `${file}:50:9: spec.steps[2] (sneaky): input rejected by noop/change's schema: input has unknown property 'colour'`,
    ]);
  }, 60_000);

  it('exits 2 with usage on a wrong command', async () => {
    const { err, io } = capture();
    await expect(runCli(['lint'], io)).resolves.toBe(2);
    expect(err[0]).toMatch(/unknown command/);
  });
});

describe('the runbooks bin, as a process', () => {
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [bin, ...args], { cwd: root }).then(
      r => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('validates the library from the repository root', async () => {
    const result = await run(['validate', 'runbooks/']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      '11 valid runbook(s) in 11 file(s), 0 problem(s)',
    );
  }, 60_000);

  it('fails on the malformed corpus with one line per problem', async () => {
    const result = await run([
      'validate',
      'plugins/runbooks-node/fixtures/invalid',
    ]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(30);
    for (const line of lines) {
      expect(line).toMatch(
        /^plugins\/runbooks-node\/fixtures\/invalid\/[a-z-]+\.yaml:\d+:\d+: \S/,
      );
    }
  }, 60_000);
});
