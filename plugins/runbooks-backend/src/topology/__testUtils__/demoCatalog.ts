import {
  DEFAULT_NAMESPACE,
  Entity,
  EntityRelation,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { parseEntityYaml } from '@backstage/plugin-catalog-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const examples = path.resolve(__dirname, '../../../../../examples');

// The relations the catalog's BuiltinKindsEntityProcessor emits for the kinds the demo uses:
// [kind, spec field, default kind of a bare name, relation, inverse relation]
const RULES: Array<[string, string, string | undefined, string, string]> = [
  ['Component', 'owner', 'Group', 'ownedBy', 'ownerOf'],
  ['Component', 'subcomponentOf', 'Component', 'partOf', 'hasPart'],
  ['Component', 'dependsOn', undefined, 'dependsOn', 'dependencyOf'],
  ['Component', 'dependencyOf', undefined, 'dependencyOf', 'dependsOn'],
  ['Component', 'system', 'System', 'partOf', 'hasPart'],
  ['Resource', 'owner', 'Group', 'ownedBy', 'ownerOf'],
  ['Resource', 'dependsOn', undefined, 'dependsOn', 'dependencyOf'],
  ['Resource', 'dependencyOf', undefined, 'dependencyOf', 'dependsOn'],
  ['Resource', 'system', 'System', 'partOf', 'hasPart'],
  ['System', 'owner', 'Group', 'ownedBy', 'ownerOf'],
  ['System', 'domain', 'Domain', 'partOf', 'hasPart'],
  ['User', 'memberOf', 'Group', 'memberOf', 'hasMember'],
  ['Group', 'parent', 'Group', 'childOf', 'parentOf'],
  ['Group', 'children', 'Group', 'parentOf', 'childOf'],
  ['Group', 'members', 'User', 'hasMember', 'memberOf'],
];

/**
 * The entities of examples/org.yaml and examples/shop.yaml as the catalog serves them: parsed by
 * the catalog's own YAML reader, in the default namespace, with the relations the catalog emits.
 */
export function demoCatalogEntities(): Entity[] {
  const entities: Entity[] = [];
  for (const file of ['org.yaml', 'shop.yaml']) {
    const target = path.join(examples, file);
    for (const result of parseEntityYaml(readFileSync(target), {
      type: 'file',
      target,
    })) {
      if (result.type !== 'entity') {
        throw new Error(`${file}: ${JSON.stringify(result)}`);
      }
      const entity = result.entity;
      entity.metadata.namespace ??= DEFAULT_NAMESPACE;
      entity.relations = [];
      entities.push(entity);
    }
  }
  const byRef = new Map(entities.map(e => [stringifyEntityRef(e), e]));
  const relate = (from: string, type: string, to: string) => {
    const source = byRef.get(from);
    if (
      source &&
      !source.relations!.some(r => r.type === type && r.targetRef === to)
    ) {
      source.relations!.push({ type, targetRef: to } as EntityRelation);
    }
  };
  for (const entity of entities) {
    const self = stringifyEntityRef(entity);
    for (const [kind, field, defaultKind, relation, inverse] of RULES) {
      if (entity.kind !== kind) continue;
      const value = entity.spec?.[field] as string | string[] | undefined;
      for (const target of [value ?? []].flat()) {
        const ref = stringifyEntityRef(
          parseEntityRef(target, {
            defaultKind,
            defaultNamespace: entity.metadata.namespace,
          }),
        );
        relate(self, relation, ref);
        relate(ref, inverse, self);
      }
    }
  }
  return entities;
}
