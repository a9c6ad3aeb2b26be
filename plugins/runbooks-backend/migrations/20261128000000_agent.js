// @ts-check

/**
 * The agent: incidents it planned for, the proposals it made (kept even when refused, for review),
 * and one summary per ended execution.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('agent_incidents', table => {
    table.comment('Incidents the agent planned for (alerts, free text)');
    table.string('id').primary();
    table.string('source').notNullable().comment('alertmanager, generic, ask');
    table.string('entity_ref').nullable().comment('The entity it resolved to');
    table.string('title', 500).notNullable();
    table
      .text('incident')
      .notNullable()
      .comment('The incident as received (untrusted; JSON, cut to a budget)');
    table.string('planner').notNullable();
    table.text('no_action').nullable().comment('Why nothing was proposed');
    table.text('usage').nullable().comment('Model usage of the planning call');
    table
      .string('dedupe_key')
      .nullable()
      .comment(
        'Alertmanager fingerprint and start: a re-sent alert is the same incident',
      );
    table.string('created_by').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.index(['entity_ref', 'created_at'], 'agent_incidents_entity_idx');
    table.index(['dedupe_key'], 'agent_incidents_dedupe_idx');
  });
  await knex.schema.createTable('agent_proposals', table => {
    table.comment(
      'Runbooks the agent proposed; never executed without a person or a dry-run',
    );
    table.string('id').primary();
    table.string('incident_id').notNullable();
    table.string('entity_ref').notNullable();
    table.string('runbook_ref').notNullable();
    table.text('parameters').notNullable().comment('JSON, no secret values');
    table.text('rationale').notNullable();
    table.string('planner').notNullable();
    table
      .string('status')
      .notNullable()
      .comment('pending, started, dismissed, refused');
    table.text('refusal').nullable();
    table.string('execution_id').nullable();
    table.string('created_by').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.string('decided_by').nullable();
    table.timestamp('decided_at', { useTz: true }).nullable();
    table.index(['entity_ref', 'created_at'], 'agent_proposals_entity_idx');
    table.index(['incident_id'], 'agent_proposals_incident_idx');
  });
  await knex.schema.createTable('execution_summaries', table => {
    table.comment(
      'One readable summary per ended execution (model or template)',
    );
    table.string('execution_id').primary();
    table.text('text').notNullable();
    table.string('by').notNullable().comment('model or template');
    table
      .text('usage')
      .nullable()
      .comment('Model usage of the summarising call');
    table.timestamp('created_at', { useTz: true }).notNullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('execution_summaries');
  await knex.schema.dropTable('agent_proposals');
  await knex.schema.dropTable('agent_incidents');
};
