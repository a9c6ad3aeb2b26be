import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  runbookAppliesTo,
  RunbookHealthResponse,
} from '@runbooks/plugin-runbooks-common';
import { RunbookCatalog } from '../runbook';
import { HealthStore } from './HealthStore';
import { RunbookHealthChecker } from './RunbookHealthChecker';

/** The kinds runbooks act on: the entities a sweep checks runbooks against. */
const TARGET_KINDS = ['component', 'resource', 'system'];

/** What one sweep did. */
export interface SweepReport {
  /** Runbook × entity pairs checked. */
  pairs: number;
  healthy: number;
  drifted: number;
  unknown: number;
  /** Pairs a kill switch holds: not checked. */
  held: number;
  /** Pairs whose check failed (logged). */
  failed: number;
  durationMs: number;
  results: RunbookHealthResponse[];
}

/**
 * Checks every runbook against every entity it applies to (or those of one entity) and keeps the
 * results. Runs as the plugin itself: it reads the whole catalog, and changes nothing anywhere.
 */
export class HealthSweep {
  constructor(
    private readonly options: {
      runbookCatalog: RunbookCatalog;
      catalog: CatalogService;
      auth: AuthService;
      checker: RunbookHealthChecker;
      store: HealthStore;
      logger: LoggerService;
      /** The kill switches that hold a runbook on an entity: a held pair is not checked. */
      killSwitches?: (target: {
        entityRef: string;
        runbookRef: string;
      }) => Promise<unknown[]>;
    },
  ) {}

  /**
   * Checks the pairs, one at a time; stops between two pairs when `signal` aborts (the scheduler's
   * timeout). `runbookRefs` limits the runbooks (those a person may see, for a check on request).
   */
  async sweep(
    filter: { entityRef?: string; runbookRefs?: string[] } = {},
    signal?: AbortSignal,
  ): Promise<SweepReport> {
    const { runbookCatalog, catalog, auth, checker, store, logger } =
      this.options;
    const started = Date.now();
    const credentials = await auth.getOwnServiceCredentials();
    const runbooks = await runbookCatalog.listRunbooks(credentials);
    let entities: Entity[];
    if (filter.entityRef) {
      entities = [
        await runbookCatalog.getEntity(filter.entityRef, credentials),
      ];
    } else {
      ({ items: entities } = await catalog.getEntities(
        { filter: TARGET_KINDS.map(kind => ({ kind })) },
        { credentials },
      ));
    }
    const report: SweepReport = {
      pairs: 0,
      healthy: 0,
      drifted: 0,
      unknown: 0,
      held: 0,
      failed: 0,
      durationMs: 0,
      results: [],
    };
    const refOf = (runbook: (typeof runbooks)[number]) =>
      stringifyEntityRef({
        kind: 'runbook',
        namespace: runbook.metadata.namespace ?? 'default',
        name: runbook.metadata.name,
      });
    for (const entity of entities) {
      for (const runbook of runbooks) {
        if (signal?.aborted) {
          logger.warn(
            `Runbook health sweep stopped after ${report.pairs} pairs: ${signal.reason}`,
          );
          report.durationMs = Date.now() - started;
          return report;
        }
        if (runbookAppliesTo(runbook, entity).length === 0) continue;
        const runbookRef = refOf(runbook);
        if (filter.runbookRefs && !filter.runbookRefs.includes(runbookRef)) {
          continue;
        }
        const entityRef = stringifyEntityRef(entity);
        // a kill switch holds: not even reads and dry-runs (a plan can take a state lock)
        if (
          ((await this.options.killSwitches?.({ entityRef, runbookRef })) ?? [])
            .length > 0
        ) {
          report.held++;
          continue;
        }
        let check;
        try {
          check = await checker.check(runbook, entity);
          await store.save(check);
        } catch (e) {
          // one pair's failure does not stop the others
          report.failed++;
          logger.warn(
            `Runbook health check of ${runbookRef} on ${entityRef} failed: ${e}`,
          );
          continue;
        }
        report.pairs++;
        report[check.status]++;
        report.results.push({
          ...check,
          verifiedAt: check.verifiedAt.toISOString(),
        });
        if (check.status === 'drifted') {
          logger.warn(
            `Runbook ${check.runbookRef} has drifted from ${stringifyEntityRef(
              entity,
            )}: ${check.findings.map(f => f.message).join('; ')}`,
          );
        }
      }
    }
    report.durationMs = Date.now() - started;
    return report;
  }
}
