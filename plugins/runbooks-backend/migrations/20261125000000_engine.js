// @ts-check

/**
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('step_runs', table => {
    table.comment(
      'One step of one execution: its lifecycle, plan, snapshots and outcome',
    );
    table
      .string('execution_id')
      .notNullable()
      .references('id')
      .inTable('executions')
      .onDelete('CASCADE')
      .comment('The execution');
    table
      .integer('step_index')
      .notNullable()
      .comment('Position of the step in the runbook');
    table
      .string('step_id')
      .notNullable()
      .comment('The step id from the runbook');
    table.string('status').notNullable().comment('Step status');
    table
      .string('phase')
      .nullable()
      .comment(
        'Last lifecycle phase reached: render, snapshot, dry-run, approval, apply, verify',
      );
    table
      .integer('attempt')
      .notNullable()
      .defaultTo(0)
      .comment('How many times the step started');
    table
      .string('idempotency_key')
      .notNullable()
      .comment(
        'Key passed to the tool; the same for every attempt of this step run',
      );
    table.text('input').nullable().comment('Rendered input (JSON)');
    table.text('plan').nullable().comment('Dry-run plan (JSON)');
    table
      .string('plan_digest')
      .nullable()
      .comment('sha256 digest of the dry-run plan');
    table
      .text('before')
      .nullable()
      .comment('State snapshot before the apply (JSON)');
    table
      .text('after')
      .nullable()
      .comment('State snapshot after the apply (JSON)');
    table
      .text('diff')
      .nullable()
      .comment('Difference between before and after (JSON)');
    table.text('output').nullable().comment('Tool output (JSON)');
    table.text('error').nullable().comment('Why the step failed');
    table.timestamp('started_at', { useTz: true, precision: 3 }).nullable();
    table.timestamp('finished_at', { useTz: true, precision: 3 }).nullable();
    table.primary(['execution_id', 'step_index'], 'step_runs_pkey');
  });

  await knex.schema.createTable('execution_events', table => {
    table.comment('Append-only log of what happened to an execution');
    table
      .string('execution_id')
      .notNullable()
      .references('id')
      .inTable('executions')
      .onDelete('CASCADE')
      .comment('The execution');
    table
      .integer('seq')
      .notNullable()
      .comment('Sequence number within the execution, from 1');
    table.string('type').notNullable().comment('Event type');
    table.text('payload').notNullable().comment('Event payload (JSON)');
    table
      .timestamp('created_at', { useTz: true, precision: 3 })
      .notNullable()
      .comment('When the event was recorded');
    table.primary(['execution_id', 'seq'], 'execution_events_pkey');
  });

  await knex.schema.createTable('approvals', table => {
    table.comment('Decisions of people on steps that wait for approval');
    table.string('id').primary().notNullable().comment('Approval id (uuid)');
    table
      .string('execution_id')
      .notNullable()
      .references('id')
      .inTable('executions')
      .onDelete('CASCADE');
    table
      .integer('step_index')
      .notNullable()
      .comment('The step the decision is for');
    table
      .string('plan_digest')
      .notNullable()
      .comment('The plan digest that was approved or rejected');
    table
      .string('decided_by')
      .notNullable()
      .comment('User entity ref of the person who decided');
    table.string('decision').notNullable().comment('approved or rejected');
    table.text('comment').nullable();
    table.timestamp('created_at', { useTz: true, precision: 3 }).notNullable();
    table.timestamp('expires_at', { useTz: true, precision: 3 }).nullable();
    table.index(['execution_id', 'step_index'], 'approvals_execution_step_idx');
  });

  await knex.schema.createTable('kill_switches', table => {
    table.comment(
      'Kill switches: while engaged, no new step starts in their scope',
    );
    table.string('id').primary().notNullable().comment('Kill switch id (uuid)');
    table
      .string('scope')
      .notNullable()
      .comment('global, entity, runbook or execution');
    table
      .string('target')
      .notNullable()
      .comment("The entity ref, runbook ref or execution id; '' for global");
    table.text('reason').notNullable().comment('Why it was engaged');
    table.string('engaged_by').notNullable().comment('Who engaged it');
    table.timestamp('engaged_at', { useTz: true, precision: 3 }).notNullable();
    table.string('released_by').nullable().comment('Who released it');
    table.timestamp('released_at', { useTz: true, precision: 3 }).nullable();
    table.index(['released_at', 'scope', 'target'], 'kill_switches_active_idx');
  });
};

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.dropTable('kill_switches');
  await knex.schema.dropTable('approvals');
  await knex.schema.dropTable('execution_events');
  await knex.schema.dropTable('step_runs');
};
