import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { AuthService } from '@backstage/backend-plugin-api';
import {
  Entity,
  parseEntityRef,
  RELATION_DEPENDENCY_OF,
  RELATION_HAS_PART,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { NotFoundError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  AffectedEntity,
  ANNOTATION_TIER,
  BlastRadius,
} from '@runbooks/plugin-runbooks-common';
import { ownerRefOf } from '../runbook/ownerRef';

/**
 * What a change to an entity may reach in the catalog graph.
 * @public
 */
export interface TopologyWalk {
  target: BlastRadius['target'];
  /**
   * Entities that depend on the target or are part of it, transitively, nearest first. `counted`
   * is true for all of them: whether one counts is the policy's call (see `assessBlastRadius`).
   */
  affected: AffectedEntity[];
  /** The walk stopped at `maxDepth` or `maxEntities` with more entities still to visit. */
  truncated: boolean;
}

type Via = AffectedEntity['via'];

const VIA: Via[] = [RELATION_DEPENDENCY_OF, RELATION_HAS_PART] as Via[];

const FIELDS = [
  'kind',
  'metadata.name',
  'metadata.namespace',
  'metadata.title',
  'metadata.annotations',
  'metadata.labels',
  'spec.owner',
  'spec.lifecycle',
  'relations',
];

function normalizeRef(ref: string): string | undefined {
  try {
    return stringifyEntityRef(parseEntityRef(ref));
  } catch {
    return undefined;
  }
}

function describe(entity: Entity) {
  const lifecycle = entity.spec?.lifecycle;
  return {
    owner: ownerRefOf(entity),
    lifecycle: typeof lifecycle === 'string' ? lifecycle : undefined,
    tier:
      entity.metadata.annotations?.[ANNOTATION_TIER] ??
      entity.metadata.labels?.tier,
  };
}

/** Refs this entity's change reaches in one hop, with the relation that reaches each. */
function neighbours(entity: Entity): Array<{ ref: string; via: Via }> {
  const out: Array<{ ref: string; via: Via }> = [];
  for (const relation of entity.relations ?? []) {
    const via = VIA.find(v => v === relation.type);
    const ref = via && normalizeRef(relation.targetRef);
    if (via && ref) out.push({ ref, via });
  }
  return out;
}

/**
 * Walks the catalog graph from an entity to what a change to it may affect: the entities that
 * depend on it (`dependencyOf`) and its parts (`hasPart`), transitively.
 * @public
 */
export class CatalogTopology {
  readonly #catalog: CatalogService;
  readonly #auth: AuthService;

  constructor(options: { catalog: CatalogService; auth: AuthService }) {
    this.#catalog = options.catalog;
    this.#auth = options.auth;
  }

  /**
   * Breadth-first from `entityRef`, each entity once at its nearest depth, one catalog request per
   * layer. Throws `NotFoundError` when the entity is not in the catalog.
   */
  async affected(
    entityRef: string,
    options?: {
      maxDepth?: number;
      maxEntities?: number;
      /** Whose view of the catalog to walk; the plugin's own (everything) by default. */
      credentials?: BackstageCredentials;
    },
  ): Promise<TopologyWalk> {
    const maxDepth = options?.maxDepth ?? 6;
    const maxEntities = options?.maxEntities ?? 500;
    const credentials =
      options?.credentials ?? (await this.#auth.getOwnServiceCredentials());
    const target = await this.#catalog.getEntityByRef(entityRef, {
      credentials,
    });
    if (!target) {
      throw new NotFoundError(`Entity ${entityRef} is not in the catalog`);
    }
    const targetRef = stringifyEntityRef(target);
    const seen = new Set([targetRef]);
    const affected: AffectedEntity[] = [];
    let frontier: Entity[] = [target];
    let truncated = false;

    for (let depth = 1; frontier.length > 0; depth++) {
      const layer = new Map<string, Via>();
      for (const entity of frontier) {
        for (const { ref, via } of neighbours(entity)) {
          if (!seen.has(ref) && !layer.has(ref)) layer.set(ref, via);
        }
      }
      if (layer.size === 0) break;
      const room = maxEntities - affected.length;
      if (depth > maxDepth || room <= 0) {
        truncated = true;
        break;
      }
      let refs = [...layer.keys()].sort();
      if (refs.length > room) {
        refs = refs.slice(0, room);
        truncated = true;
      }
      refs.forEach(ref => seen.add(ref));
      const { items } = await this.#catalog.getEntitiesByRefs(
        { entityRefs: refs, fields: FIELDS },
        { credentials },
      );
      frontier = [];
      for (const [i, ref] of refs.entries()) {
        const entity = items[i];
        const via = layer.get(ref)!;
        if (entity) frontier.push(entity);
        affected.push({
          entityRef: ref,
          // a relation to an entity the catalog no longer serves: still reached, nothing known
          kind: entity?.kind ?? parseEntityRef(ref).kind,
          ...(entity?.metadata.title ? { title: entity.metadata.title } : {}),
          ...(entity ? withoutUndefined(describe(entity)) : {}),
          depth,
          via,
          counted: true,
        });
      }
      if (truncated) break;
    }

    return {
      target: { entityRef: targetRef, ...withoutUndefined(describe(target)) },
      affected,
      truncated,
    };
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}
