import {
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { ANNOTATION_RUNBOOKS } from '../constants';
import { RunbookApplicability } from '../api';
import { RunbookEntityV1alpha1 } from './RunbookEntity';

const list = (v: string | string[] | undefined) =>
  v === undefined
    ? undefined
    : (Array.isArray(v) ? v : [v]).map(s => s.toLocaleLowerCase('en-US'));

/**
 * Whether a runbook's selector matches an entity: every given criterion must hold; an annotation
 * value of `*` only requires the annotation to be present.
 * @public
 */
export function selectorMatches(
  selector: NonNullable<RunbookEntityV1alpha1['spec']['appliesTo']>['selector'],
  entity: Entity,
): boolean {
  if (!selector) return false;
  const kinds = list(selector.kind);
  const types = list(selector.type);
  const annotations = Object.entries(selector.annotations ?? {});
  if (!kinds && !types && annotations.length === 0) return false;
  if (kinds && !kinds.includes(entity.kind.toLocaleLowerCase('en-US'))) {
    return false;
  }
  if (types) {
    const type = (entity.spec as { type?: unknown } | undefined)?.type;
    if (
      typeof type !== 'string' ||
      !types.includes(type.toLocaleLowerCase('en-US'))
    ) {
      return false;
    }
  }
  const present = entity.metadata.annotations ?? {};
  for (const [key, expected] of annotations) {
    if (!Object.hasOwn(present, key)) return false;
    if (expected !== '*' && present[key] !== expected) return false;
  }
  return true;
}

/**
 * The runbook refs an entity opts in to through its annotation (names default to kind Runbook
 * and the entity's namespace).
 * @public
 */
export function getAnnotatedRunbookRefs(entity: Entity): string[] {
  const value = entity.metadata.annotations?.[ANNOTATION_RUNBOOKS];
  if (!value) return [];
  return value
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .map(s =>
      stringifyEntityRef(
        parseEntityRef(s, {
          defaultKind: 'Runbook',
          defaultNamespace: entity.metadata.namespace ?? 'default',
        }),
      ),
    );
}

/**
 * Every reason why a runbook applies to an entity; empty when it does not.
 * @public
 */
export function runbookAppliesTo(
  runbook: RunbookEntityV1alpha1,
  entity: Entity,
): RunbookApplicability[] {
  const entityRef = stringifyEntityRef(entity);
  const runbookRef = stringifyEntityRef(runbook as unknown as Entity);
  const reasons: RunbookApplicability[] = [];
  const explicit = (runbook.spec.appliesTo?.entities ?? []).some(ref => {
    try {
      return (
        stringifyEntityRef(
          parseEntityRef(ref, {
            defaultNamespace: runbook.metadata.namespace ?? 'default',
          }),
        ) === entityRef
      );
    } catch {
      return false;
    }
  });
  if (explicit) reasons.push('relation');
  if (selectorMatches(runbook.spec.appliesTo?.selector, entity)) {
    reasons.push('selector');
  }
  let annotated = false;
  try {
    annotated = getAnnotatedRunbookRefs(entity).includes(runbookRef);
  } catch {
    annotated = false;
  }
  if (annotated) reasons.push('annotation');
  return reasons;
}
