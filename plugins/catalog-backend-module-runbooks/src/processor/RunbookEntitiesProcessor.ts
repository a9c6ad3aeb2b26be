import {
  CompoundEntityRef,
  Entity,
  getCompoundEntityRef,
  parseEntityRef,
  RELATION_OWNED_BY,
  RELATION_OWNER_OF,
} from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import { LocationSpec } from '@backstage/plugin-catalog-common';
import {
  CatalogProcessor,
  CatalogProcessorEmit,
  processingResult,
} from '@backstage/plugin-catalog-node';
import {
  getAnnotatedRunbookRefs,
  isRunbookEntity,
  RELATION_HAS_RUNBOOK,
  RELATION_RUNBOOK_FOR,
  RunbookEntityV1alpha1,
  validateRunbookEntity,
} from '@runbooks/plugin-runbooks-common';

/**
 * Validates `kind: Runbook` entities and emits their relations: ownership, `runbookFor` /
 * `hasRunbook` to the entities named in `spec.appliesTo.entities`, and the same relations for
 * entities that opt in through the `runbooks.backstage.io/runbooks` annotation.
 * @public
 */
export class RunbookEntitiesProcessor implements CatalogProcessor {
  getProcessorName(): string {
    return 'RunbookEntitiesProcessor';
  }

  async validateEntityKind(entity: Entity): Promise<boolean> {
    if (!isRunbookEntity(entity)) {
      return false;
    }
    const result = validateRunbookEntity(entity);
    if (!result.ok) {
      throw new InputError(
        `Runbook ${
          entity.metadata?.name ?? '(no name)'
        } is invalid: ${result.issues.map(i => i.message).join('; ')}`,
      );
    }
    return true;
  }

  async postProcessEntity(
    entity: Entity,
    location: LocationSpec,
    emit: CatalogProcessorEmit,
  ): Promise<Entity> {
    const self = getCompoundEntityRef(entity);
    const relate = (
      runbookRef: CompoundEntityRef,
      targetRef: CompoundEntityRef,
    ) => {
      emit(
        processingResult.relation({
          source: runbookRef,
          type: RELATION_RUNBOOK_FOR,
          target: targetRef,
        }),
      );
      emit(
        processingResult.relation({
          source: targetRef,
          type: RELATION_HAS_RUNBOOK,
          target: runbookRef,
        }),
      );
    };

    if (isRunbookEntity(entity)) {
      const runbook = entity as unknown as RunbookEntityV1alpha1;
      const namespace = entity.metadata.namespace ?? 'default';
      const owner = parseEntityRef(runbook.spec.owner, {
        defaultKind: 'Group',
        defaultNamespace: namespace,
      });
      emit(
        processingResult.relation({
          source: self,
          type: RELATION_OWNED_BY,
          target: owner,
        }),
      );
      emit(
        processingResult.relation({
          source: owner,
          type: RELATION_OWNER_OF,
          target: self,
        }),
      );
      for (const ref of runbook.spec.appliesTo?.entities ?? []) {
        relate(self, parseEntityRef(ref, { defaultNamespace: namespace }));
      }
      return entity;
    }

    let annotated: string[] = [];
    try {
      annotated = getAnnotatedRunbookRefs(entity);
    } catch (e) {
      emit(
        processingResult.inputError(
          location,
          `annotation runbooks.backstage.io/runbooks of ${
            entity.metadata.name
          } is invalid: ${(e as Error).message}`,
        ),
      );
    }
    for (const ref of annotated) {
      relate(parseEntityRef(ref), self);
    }
    return entity;
  }
}
