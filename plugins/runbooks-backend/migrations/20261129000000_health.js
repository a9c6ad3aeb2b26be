// @ts-check

/**
 * Runbook health: the last check of each runbook on each entity it applies to (read-only steps,
 * dry-runs and preconditions against the real system), so drift shows before an incident.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('runbook_health', table => {
    table.comment('The last health check of a runbook on an entity');
    table.string('runbook_ref').notNullable().comment('runbook:default/…');
    table
      .string('entity_ref')
      .notNullable()
      .comment('The entity it was checked on');
    table.string('status').notNullable().comment('healthy, drifted or unknown');
    table.text('findings').notNullable().comment('What did not match (JSON)');
    table
      .text('skipped')
      .notNullable()
      .comment('What could not be checked and why (JSON)');
    table
      .text('checked')
      .notNullable()
      .comment('Steps run and preconditions evaluated (JSON)');
    table.timestamp('verified_at', { useTz: true, precision: 3 }).notNullable();
    table.primary(['runbook_ref', 'entity_ref'], 'runbook_health_pkey');
    table.index(['entity_ref'], 'runbook_health_entity_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('runbook_health');
};
