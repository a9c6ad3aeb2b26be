import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  ANNOTATION_RUNBOOKS,
  RELATION_HAS_RUNBOOK,
} from '@runbooks/plugin-runbooks-common';

// Selectors resolve at query time, so any entity of these kinds may have runbooks.
const SELECTABLE_KINDS = ['component', 'resource', 'system'];

/**
 * Whether the Runbooks tab belongs on an entity's page: it has a `hasRunbook` relation, opts in
 * through the `runbooks.backstage.io/runbooks` annotation, or is of a kind runbook selectors target.
 * @public
 */
export function isRunbooksAvailable(entity: Entity): boolean {
  if (entity.relations?.some(r => r.type === RELATION_HAS_RUNBOOK)) return true;
  if (entity.metadata.annotations?.[ANNOTATION_RUNBOOKS]) return true;
  return SELECTABLE_KINDS.includes(stringifyEntityRef(entity).split(':')[0]);
}
