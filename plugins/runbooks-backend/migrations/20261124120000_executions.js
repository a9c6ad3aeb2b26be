// @ts-check

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('executions', table => {
    table.comment('One run of a runbook against a catalog entity');
    table.string('id').primary().notNullable().comment('Execution id (uuid)');
    table
      .string('runbook_ref')
      .notNullable()
      .comment('Entity ref of the runbook');
    table
      .string('runbook_digest')
      .notNullable()
      .comment(
        'sha256 of the canonical runbook content that was approved to run',
      );
    table
      .text('runbook_content')
      .notNullable()
      .comment(
        'The runbook content (JSON) that runs, even if the catalog changes meanwhile',
      );
    table
      .string('entity_ref')
      .notNullable()
      .comment('Entity ref of the target');
    table
      .text('entity_snapshot')
      .notNullable()
      .comment(
        'The target entity (JSON) as it was when the execution was requested',
      );
    table
      .text('parameters')
      .notNullable()
      .comment('Validated parameters (JSON)');
    table
      .string('requester')
      .notNullable()
      .comment('User entity ref of the requester');
    table.string('mode').notNullable().comment('dry-run or execute');
    table.string('status').notNullable().comment('Execution status');
    table
      .text('status_message')
      .nullable()
      .comment(
        'Why the execution is in its status (needs-attention, failed, cancelled)',
      );
    table
      .integer('current_step')
      .notNullable()
      .defaultTo(0)
      .comment('Index of the step the execution is at');
    table
      .timestamp('created_at', { useTz: true, precision: 3 })
      .notNullable()
      .defaultTo(knex.fn.now())
      .comment('When the execution was requested');
    table
      .timestamp('updated_at', { useTz: true, precision: 3 })
      .notNullable()
      .defaultTo(knex.fn.now())
      .comment('Last status change');
    table
      .timestamp('started_at', { useTz: true, precision: 3 })
      .nullable()
      .comment('When the first step started');
    table
      .timestamp('finished_at', { useTz: true, precision: 3 })
      .nullable()
      .comment('When the execution reached a terminal status');
    table
      .string('cancel_requested_by')
      .nullable()
      .comment(
        'Who asked to cancel a running execution; the worker stops at once',
      );
    table.string('lease_owner').nullable().comment('Worker holding the lease');
    table
      .timestamp('lease_expires_at', { useTz: true, precision: 3 })
      .nullable()
      .comment('When the lease lapses unless renewed');
    table.index(['entity_ref', 'created_at'], 'executions_entity_created_idx');
    table.index(
      ['runbook_ref', 'created_at'],
      'executions_runbook_created_idx',
    );
    table.index(['status', 'lease_expires_at'], 'executions_status_lease_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('executions');
};
