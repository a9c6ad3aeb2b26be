// @ts-check

/**
 * Signed statements: one Sigstore bundle (DSSE, in-toto Statement v1) per step that ran and one
 * checkpoint per ended execution, chained by digest. Written in the same transaction as the state
 * change they record. No foreign key: an audit record outlives a deleted execution row.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('execution_statements', table => {
    table.comment('Signed provenance statements of executions, hash-chained');
    table.string('execution_id').notNullable();
    table
      .integer('seq')
      .notNullable()
      .comment('Position in the execution chain, from 1');
    table.string('kind').notNullable().comment('step or checkpoint');
    table.integer('step_index').nullable();
    table.integer('attempt').nullable();
    table
      .string('statement_digest', 64)
      .notNullable()
      .comment('SHA-256 of the DSSE payload (the canonical statement)');
    table.string('key_hint').nullable().comment('Hint of the signing key');
    table.text('bundle').notNullable().comment('Sigstore bundle v0.3 (JSON)');
    table.timestamp('created_at', { useTz: true }).notNullable();
    table.primary(['execution_id', 'seq']);
  });
  // audit exports select ended executions by when they finished
  await knex.schema.alterTable('executions', table => {
    table.index(['finished_at', 'id'], 'executions_finished_at_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('executions', table => {
    table.dropIndex(['finished_at', 'id'], 'executions_finished_at_idx');
  });
  await knex.schema.dropTable('execution_statements');
};
