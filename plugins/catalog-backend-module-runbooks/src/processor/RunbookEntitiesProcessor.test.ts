import { Entity } from '@backstage/catalog-model';
import { CatalogProcessorResult } from '@backstage/plugin-catalog-node';
import { RunbookEntitiesProcessor } from './RunbookEntitiesProcessor';

const location = { type: 'url', target: 'https://example.com/runbooks.yaml' };

const runbook = (spec: Record<string, unknown>): Entity => ({
  apiVersion: 'runbooks.backstage.io/v1alpha1',
  kind: 'Runbook',
  metadata: { name: 'restart', namespace: 'default' },
  spec: {
    owner: 'sre',
    steps: [{ id: 'a', tool: 'kubernetes/get', mutates: false }],
    ...spec,
  },
});

async function emitted(entity: Entity) {
  const results: CatalogProcessorResult[] = [];
  await new RunbookEntitiesProcessor().postProcessEntity(entity, location, r =>
    results.push(r),
  );
  return results.map(r =>
    r.type === 'relation'
      ? `${r.relation.source.kind}:${r.relation.source.name} ${r.relation.type} ${r.relation.target.kind}:${r.relation.target.namespace}/${r.relation.target.name}`
      : `${r.type}: ${(r as any).error?.message}`,
  );
}

describe('RunbookEntitiesProcessor', () => {
  const processor = new RunbookEntitiesProcessor();

  it('leaves other kinds to other processors', async () => {
    await expect(
      processor.validateEntityKind({
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: { name: 'x' },
      }),
    ).resolves.toBe(false);
  });

  it('accepts a valid runbook', async () => {
    await expect(processor.validateEntityKind(runbook({}))).resolves.toBe(true);
  });

  it('rejects an invalid runbook with the field named', async () => {
    await expect(
      processor.validateEntityKind(
        runbook({
          steps: [{ id: 'a', tool: 'kubernetes/scale', mutates: true }],
        }),
      ),
    ).rejects.toThrow(
      "Runbook restart is invalid: spec.steps[0].mutates: step 'a' mutates but declares no dry-run",
    );
  });

  it('emits ownership and runbookFor / hasRunbook for explicit targets', async () => {
    expect(
      await emitted(
        runbook({
          appliesTo: { entities: ['component:checkout', 'resource:ops/db'] },
        }),
      ),
    ).toEqual([
      'Runbook:restart ownedBy Group:default/sre',
      'Group:sre ownerOf Runbook:default/restart',
      'Runbook:restart runbookFor component:default/checkout',
      'component:checkout hasRunbook Runbook:default/restart',
      'Runbook:restart runbookFor resource:ops/db',
      'resource:db hasRunbook Runbook:default/restart',
    ]);
  });

  it('emits the relations for an entity that opts in through the annotation', async () => {
    expect(
      await emitted({
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: {
          name: 'legacy',
          namespace: 'default',
          annotations: { 'runbooks.backstage.io/runbooks': 'restart' },
        },
      }),
    ).toEqual([
      'runbook:restart runbookFor Component:default/legacy',
      'Component:legacy hasRunbook runbook:default/restart',
    ]);
  });
});
