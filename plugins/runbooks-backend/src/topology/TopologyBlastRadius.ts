import {
  BlastRadius,
  RunbookEntityV1alpha1,
} from '@runbooks/plugin-runbooks-common';
import { BlastRadiusHook } from '../engine/hooks';
import { assessBlastRadius } from './assess';
import { CatalogTopology, TopologyWalk } from './CatalogTopology';
import { BlastRadiusPolicy } from './config';

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
}
