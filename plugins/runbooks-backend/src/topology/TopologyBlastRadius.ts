import {
  BlastRadius,
  RunbookEntityV1alpha1,
} from '@runbooks/plugin-runbooks-common';
import { BlastRadiusHook } from '../engine/hooks';
import { assessBlastRadius } from './assess';
import { CatalogTopology } from './CatalogTopology';
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
    const walk = await this.#topology.affected(execution.entityRef);
    const runbook = execution.runbookContent as RunbookEntityV1alpha1;
    return assessBlastRadius({
      ...walk,
      plan,
      step,
      runbookPolicy: runbook.spec.blastRadius?.actions,
      policy: this.#policy,
    });
  }
}
