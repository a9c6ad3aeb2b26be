import Ajv from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { runbookEntityJsonSchema } from './jsonSchema';

const library = path.resolve(__dirname, '../../../../runbooks');

describe('runbookEntityJsonSchema', () => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(
    runbookEntityJsonSchema(),
  );

  it('accepts every runbook of the library', () => {
    const files = readdirSync(library).filter(f => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(11);
    const failures = files.filter(
      f => !validate(parse(readFileSync(path.join(library, f), 'utf8'))),
    );
    expect(failures).toEqual([]);
  });

  it('rejects a step with a field the kind does not have', () => {
    const runbook = parse(
      readFileSync(path.join(library, 'restart-deployment.yaml'), 'utf8'),
    );
    runbook.spec.steps[1].command = 'kubectl rollout restart deploy/x';
    expect(validate(runbook)).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({
        instancePath: '/spec/steps/1',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'command' },
      }),
    );
  });

  it('checks the actions of spec.blastRadius', () => {
    const runbook = parse(
      readFileSync(path.join(library, 'restart-deployment.yaml'), 'utf8'),
    );
    runbook.spec.blastRadius = { actions: { high: 'refuse' } };
    expect(validate(runbook)).toBe(true);
    runbook.spec.blastRadius = { actions: { high: 'maybe' } };
    expect(validate(runbook)).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({
        instancePath: '/spec/blastRadius/actions/high',
        keyword: 'enum',
      }),
    );
  });
});
