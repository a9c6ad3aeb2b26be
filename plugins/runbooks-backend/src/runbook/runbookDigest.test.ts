import { validateRunbookEntity } from '@runbooks/plugin-runbooks-common';
import { runbookDigest } from './runbookDigest';

const parse = (entity: unknown) => {
  const result = validateRunbookEntity(entity);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.runbook;
};

const base = {
  apiVersion: 'runbooks.backstage.io/v1alpha1',
  kind: 'Runbook',
  metadata: { name: 'r' },
  spec: {
    owner: 'sre',
    steps: [{ id: 'a', tool: 'k/get', mutates: false, input: { x: 1, y: 2 } }],
  },
};

describe('runbookDigest', () => {
  it('is the sha256 of canonical JSON: key order and catalog bookkeeping do not matter', () => {
    const digest = runbookDigest(parse(base));
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const reordered = {
      kind: 'Runbook',
      spec: {
        steps: [
          { input: { y: 2, x: 1 }, mutates: false, tool: 'k/get', id: 'a' },
        ],
        owner: 'sre',
      },
      metadata: { name: 'r', namespace: 'default', uid: 'u1', etag: 'e1' },
      apiVersion: 'runbooks.backstage.io/v1alpha1',
      relations: [{ type: 'ownedBy', targetRef: 'group:default/sre' }],
    };
    expect(runbookDigest(parse(reordered))).toBe(digest);
  });

  it('changes when what would run changes', () => {
    const changed = JSON.parse(JSON.stringify(base));
    changed.spec.steps[0].input.x = 2;
    expect(runbookDigest(parse(changed))).not.toBe(runbookDigest(parse(base)));
  });
});
