import { InputError } from '@backstage/errors';
import {
  Entity,
  parseEntityRef,
  RELATION_OWNED_BY,
  stringifyEntityRef,
} from '@backstage/catalog-model';

/**
 * The full ref of an entity's owner (`group:default/team-checkout`): its `ownedBy` relation when
 * the catalog has processed it, otherwise `spec.owner` read as a group in the entity's namespace.
 */
export function ownerRefOf(entity: Entity): string | undefined {
  const related = entity.relations?.find(r => r.type === RELATION_OWNED_BY);
  if (related) return related.targetRef;
  const owner = entity.spec?.owner;
  if (typeof owner !== 'string' || !owner) return undefined;
  try {
    return stringifyEntityRef(
      parseEntityRef(owner, {
        defaultKind: 'group',
        defaultNamespace: entity.metadata.namespace ?? 'default',
      }),
    );
  } catch {
    return undefined;
  }
}

/**
 * A reference in the full form executions store (`checkout` → `component:default/checkout`,
 * `restart-deployment` with kind runbook → `runbook:default/restart-deployment`). Throws an
 * InputError that names `what` when it is no entity reference.
 */
export function fullRef(
  ref: string,
  defaultKind: string,
  what = 'entityRef',
): string {
  try {
    return stringifyEntityRef(
      parseEntityRef(ref, { defaultKind, defaultNamespace: 'default' }),
    );
  } catch (e) {
    throw new InputError(
      `${what} '${ref}' is not an entity reference: ${(e as Error).message}`,
    );
  }
}
