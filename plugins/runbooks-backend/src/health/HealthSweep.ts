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
    },
  ) {}

  async sweep(filter: { entityRef?: string } = {}): Promise<SweepReport> {
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
      durationMs: 0,
      results: [],
    };
    for (const entity of entities) {
      for (const runbook of runbooks) {
        if (runbookAppliesTo(runbook, entity).length === 0) continue;
        const check = await checker.check(runbook, entity);
        await store.save(check);
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
