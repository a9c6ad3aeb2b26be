import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import {
  BlastRadius,
  RunbookEntityV1alpha1,
} from '@runbooks/plugin-runbooks-common';
import { BlastRadiusHook } from '../engine/hooks';
import { assessBlastRadius } from './assess';
import { CatalogTopology, TopologyWalk } from './CatalogTopology';
import { ACTIONS, BlastRadiusPolicy, LEVELS } from './config';

// the least a change can be before its plan is known: one object, no hosts
const PREVIEW_PLAN = { changes: [], objectCount: 1 };

/**
 * The backend's blast-radius check: what the step's target reaches in the catalog graph and what
 * its plan changes, against the configured policy and the runbook's own stricter actions.
 * @public
 */
export class TopologyBlastRadius implements BlastRadiusHook {
  readonly #topology: Pick<CatalogTopology, 'affected'>;
  readonly #policy: BlastRadiusPolicy;

  constructor(options: {
    topology: Pick<CatalogTopology, 'affected'>;
    policy: BlastRadiusPolicy;
  }) {
    this.#topology = options.topology;
    this.#policy = options.policy;
  }

  async assess({
    execution,
    step,
    plan,
  }: Parameters<BlastRadiusHook['assess']>[0]): Promise<BlastRadius> {
    const runbook = execution.runbookContent as RunbookEntityV1alpha1;
    let walk: TopologyWalk;
    let unknownGraph: string | undefined;
    try {
      walk = await this.#topology.affected(execution.entityRef);
    } catch (e) {
      // the catalog is down or the target is gone: assume the worst the policy allows to proceed
      unknownGraph = (e as Error).message;
      walk = {
        target: { entityRef: execution.entityRef },
        affected: [],
        truncated: true,
      };
    }
    return assessBlastRadius({
      ...walk,
      unknownGraph,
      plan,
      step,
      runbookPolicy: runbook.spec.blastRadius?.actions,
      policy: this.#policy,
    });
  }

  /**
   * The blast radius of each mutating runbook's strictest mutating step (strictest action, then
   * highest level) on an entity, before any plan: one walk of the catalog graph for all of them, and a
   * plan of one object on no host. Keyed by runbook ref; read-only runbooks are left out. Rejects
   * when the graph cannot be read.
   */
  async preview(
    entityRef: string,
    runbooks: RunbookEntityV1alpha1[],
    /** The reader's: the preview lists only the entities they may read in the catalog. */
    credentials?: BackstageCredentials,
  ): Promise<Map<string, BlastRadius>> {
    const previews = new Map<string, BlastRadius>();
    const mutating = runbooks.filter(r => r.spec.steps.some(s => s.mutates));
    if (mutating.length === 0) return previews;
    const walk = await this.#topology.affected(entityRef, { credentials });
    // what the policy does decides first (a stricter action at a lower level wins), then the level
    const strictness = (r: BlastRadius) =>
      ACTIONS.indexOf(r.action) * LEVELS.length + LEVELS.indexOf(r.level);
    for (const runbook of mutating) {
      const radii = runbook.spec.steps
        .filter(step => step.mutates)
        .map(step =>
          assessBlastRadius({
            ...walk,
            plan: PREVIEW_PLAN,
            step,
            runbookPolicy: runbook.spec.blastRadius?.actions,
            policy: this.#policy,
          }),
        );
      previews.set(
        stringifyEntityRef({
          kind: runbook.kind,
          namespace: runbook.metadata.namespace,
          name: runbook.metadata.name,
        }),
        radii.reduce((a, b) => (strictness(b) > strictness(a) ? b : a)),
      );
    }
    return previews;
  }
}
