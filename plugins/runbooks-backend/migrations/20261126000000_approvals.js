// @ts-check

/**
 * Owners on executions (for permission conditions and their list filters), the blast radius and
 * approval request time on steps, and per-gate approvals (the step attempt they belong to, and the
 * affected owner an approver answers for).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('executions', table => {
    table
      .string('entity_owner')
      .nullable()
      .comment(
        'Owner ref of the target entity when the execution was requested',
      );
    table
      .string('runbook_owner')
      .nullable()
      .comment('Owner ref of the runbook when the execution was requested');
    table.index(['entity_owner'], 'executions_entity_owner_idx');
    table.index(['runbook_owner'], 'executions_runbook_owner_idx');
    table.index(['requester'], 'executions_requester_idx');
  });

  // executions recorded before: their owners from the stored entity and runbook
  const rows = await knex('executions').select(
    'id',
    'entity_snapshot',
    'runbook_content',
  );
  for (const row of rows) {
    await knex('executions')
      .where({ id: row.id })
      .update({
        entity_owner: ownerOf(row.entity_snapshot),
        runbook_owner: ownerOf(row.runbook_content),
      });
  }

  await knex.schema.alterTable('step_runs', table => {
    table
      .text('blast_radius')
      .nullable()
      .comment('Blast radius of the step and what the policy requires (JSON)');
    table
      .timestamp('approval_requested_at', { useTz: true, precision: 3 })
      .nullable()
      .comment('When the step last started waiting for approval');
  });

  await knex.schema.alterTable('approvals', table => {
    table
      .integer('attempt')
      .notNullable()
      .defaultTo(0)
      .comment('The step attempt (approval request) the decision belongs to');
    table
      .string('owner_of')
      .nullable()
      .comment(
        'The owner ref of an affected dependent the approver is a member of, when the gate asks for one',
      );
  });
};

/**
 * @param {string} json
 * @returns {string | null}
 */
function ownerOf(json) {
  try {
    const entity = JSON.parse(json);
    const owner = entity?.spec?.owner;
    if (typeof owner !== 'string' || !owner) return null;
    if (owner.includes(':'))
      return owner.includes('/') ? owner : owner.replace(':', ':default/');
    const namespace = entity?.metadata?.namespace ?? 'default';
    return `group:${namespace}/${owner}`;
  } catch {
    return null;
  }
}

/**
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  await knex.schema.alterTable('approvals', table => {
    table.dropColumn('owner_of');
    table.dropColumn('attempt');
  });
  await knex.schema.alterTable('step_runs', table => {
    table.dropColumn('approval_requested_at');
    table.dropColumn('blast_radius');
  });
  await knex.schema.alterTable('executions', table => {
    table.dropIndex(['requester'], 'executions_requester_idx');
    table.dropIndex(['runbook_owner'], 'executions_runbook_owner_idx');
    table.dropIndex(['entity_owner'], 'executions_entity_owner_idx');
    table.dropColumn('runbook_owner');
    table.dropColumn('entity_owner');
  });
};
