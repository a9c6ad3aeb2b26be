// @ts-check

/**
 * Owners on executions (for permission conditions and their list filters), the blast radius and
 * approval request time on steps, and per-gate approvals (the step attempt they belong to, and the
 * affected owner an approver answers for).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  // on SQLite a rollback keeps these columns (see down)
  const kept = await knex.schema.hasColumn('executions', 'entity_owner');
  await knex.schema.alterTable('executions', table => {
    if (!kept) {
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
    }
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

  // steps waiting already: their request is as old as the last change of their execution
  const waiting = await knex('step_runs as s')
    .join('executions as e', 'e.id', 's.execution_id')
    .where('s.status', 'waiting-approval')
    .select('s.execution_id', 's.step_index', 'e.updated_at');
  for (const row of waiting) {
    await knex('step_runs')
      .where({ execution_id: row.execution_id, step_index: row.step_index })
      .update({ approval_requested_at: row.updated_at });
  }

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
 * The owner's full ref, lowercase, as the backend computes it: the `ownedBy` relation when the
 * stored entity has one, otherwise `spec.owner` read as a group in the entity's namespace.
 *
 * @param {string} json
 * @returns {string | null}
 */
function ownerOf(json) {
  try {
    const entity = JSON.parse(json);
    const related = (entity?.relations ?? []).find(
      (/** @type {{type: string}} */ r) => r.type === 'ownedBy',
    );
    if (related?.targetRef) return String(related.targetRef).toLowerCase();
    const owner = entity?.spec?.owner;
    if (typeof owner !== 'string' || !owner) return null;
    const namespace = entity?.metadata?.namespace ?? 'default';
    const match = /^(?:([^:/]+):)?(?:([^:/]+)\/)?([^:/]+)$/.exec(owner);
    if (!match) return null;
    const [, kind = 'group', ns = namespace, name] = match;
    return `${kind}:${ns}/${name}`.toLowerCase();
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
  });
  // SQLite drops a column by rebuilding the table, which would cascade-delete every step, event
  // and approval of every execution: there the two nullable columns stay
  if (!String(knex.client.config.client).includes('sqlite')) {
    await knex.schema.alterTable('executions', table => {
      table.dropColumn('runbook_owner');
      table.dropColumn('entity_owner');
    });
  }
};
