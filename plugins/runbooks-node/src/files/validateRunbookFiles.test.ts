import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatProblem, validateRunbookFiles } from './validateRunbookFiles';

const invalidDir = path.resolve(__dirname, '../../fixtures/invalid');
const libraryDir = path.resolve(__dirname, '../../../../runbooks');

// Each malformed runbook ends with the one problem it must produce: `# expect: line:col: message`.
const corpus = readdirSync(invalidDir)
  .filter(f => f.endsWith('.yaml'))
  .sort()
  .map(file => {
    const text = readFileSync(path.join(invalidDir, file), 'utf8');
    const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map(m => m[1]);
    return [file, expected] as const;
  });

describe('the malformed runbook corpus', () => {
  it('has at least 30 cases, each naming its expected problem', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    for (const [file, expected] of corpus) {
      expect({ file, count: expected.length }).toEqual({ file, count: 1 });
    }
  });

  it.each(corpus)(
    '%s fails with exactly its expected problem',
    async (file, expected) => {
      const report = await validateRunbookFiles([path.join(invalidDir, file)]);
      expect(report.runbooks).toEqual([]);
      expect(
        report.problems.map(p => `${p.line}:${p.col}: ${p.message}`),
      ).toEqual(expected);
    },
  );
});

describe('the runbook library', () => {
  it('is valid: at least the eleven runbooks, no problem', async () => {
    const report = await validateRunbookFiles([libraryDir]);
    expect(report.problems.map(formatProblem)).toEqual([]);
    expect(report.runbooks.map(r => r.runbook.metadata.name).sort()).toEqual([
      'delete-crashlooping-pod',
      'drain-node',
      'flush-cache-prefix',
      'purge-dead-letter-queue',
      'replace-terraform-resource',
      'restart-deployment',
      'restart-systemd-service',
      'rollback-deployment',
      'rotate-secret',
      'scale-deployment',
      'uncordon-node',
    ]);
  });

  it('declares a dry-run for every mutating step and names a known tool server', async () => {
    const report = await validateRunbookFiles([libraryDir]);
    const steps = report.runbooks.flatMap(({ runbook }) => runbook.spec.steps);
    expect(steps.length).toBeGreaterThan(20);
    for (const step of steps) {
      expect(step.tool).toMatch(/^(kubernetes|ansible|terraform)\//);
    }
    const mutating = steps.filter(s => s.mutates);
    expect(mutating.length).toBeGreaterThan(10);
    expect(mutating.filter(s => s.dryRun !== true).map(s => s.id)).toEqual([]);
  });
});

describe('validateRunbookFiles', () => {
  it('reports a missing path instead of throwing', async () => {
    const report = await validateRunbookFiles(['/no/such/dir']);
    expect(report.problems.map(formatProblem)).toEqual([
      '/no/such/dir:1:1: no such file or directory',
    ]);
  });
});
