import { RunbookHealthResponse } from '@runbooks/plugin-runbooks-common';
import { Knex } from 'knex';
import { HealthCheck } from './RunbookHealthChecker';

interface Row {
  runbook_ref: string;
  entity_ref: string;
  status: RunbookHealthResponse['status'];
  findings: string;
  skipped: string;
  checked: string;
  verified_at: Date | string | number;
}

const toDate = (value: Row['verified_at']) =>
  value instanceof Date ? value : new Date(value);

/** The last health check of each runbook on each entity (the `runbook_health` table). */
export class HealthStore {
  constructor(private readonly db: Knex) {}

  /** Keeps a check, replacing the previous one of the same runbook and entity. */
  async save(check: HealthCheck): Promise<void> {
    await this.db<Row>('runbook_health')
      .insert({
        runbook_ref: check.runbookRef,
        entity_ref: check.entityRef,
        status: check.status,
        findings: JSON.stringify(check.findings),
        skipped: JSON.stringify(check.skipped),
        checked: JSON.stringify(check.checked),
        verified_at: check.verifiedAt,
      })
      .onConflict(['runbook_ref', 'entity_ref'])
      .merge();
  }

  /** The last checks on an entity (or of every entity), by runbook. */
  async list(
    filter: { entityRef?: string } = {},
  ): Promise<RunbookHealthResponse[]> {
    let query = this.db<Row>('runbook_health');
    if (filter.entityRef) query = query.where('entity_ref', filter.entityRef);
    const rows = await query.orderBy(['entity_ref', 'runbook_ref']);
    return rows.map(row => ({
      runbookRef: row.runbook_ref,
      entityRef: row.entity_ref,
      status: row.status,
      findings: JSON.parse(row.findings),
      skipped: JSON.parse(row.skipped),
      checked: JSON.parse(row.checked),
      verifiedAt: toDate(row.verified_at).toISOString(),
    }));
  }
}
