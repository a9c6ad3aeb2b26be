import { createPermission } from '@backstage/plugin-permission-common';

/**
 * The resource type of runbook executions in the permission framework; a resource ref is an
 * execution id.
 * @public
 */
export const RUNBOOK_EXECUTION_RESOURCE_TYPE = 'runbooks-execution';

/**
 * Request an execution of a runbook on a catalog entity; the resource is the TARGET entity, so a
 * policy can use the catalog's conditions (for example `isEntityOwner`).
 * @public
 */
export const runbookExecutePermission = createPermission({
  name: 'runbooks.runbook.execute',
  attributes: { action: 'create' },
  resourceType: 'catalog-entity',
});

/**
 * See an execution: its steps, plans, events and approvals; lists show only what this allows.
 * @public
 */
export const executionReadPermission = createPermission({
  name: 'runbooks.execution.read',
  attributes: { action: 'read' },
  resourceType: RUNBOOK_EXECUTION_RESOURCE_TYPE,
});

/**
 * Decide on a step that waits for approval (approve or reject), and decide how an execution that
 * needs attention goes on (resume or skip). Checked when the decision is made.
 * @public
 */
export const executionApprovePermission = createPermission({
  name: 'runbooks.execution.approve',
  attributes: { action: 'update' },
  resourceType: RUNBOOK_EXECUTION_RESOURCE_TYPE,
});

/**
 * Cancel an execution, or abort one that needs attention.
 * @public
 */
export const executionCancelPermission = createPermission({
  name: 'runbooks.execution.cancel',
  attributes: { action: 'update' },
  resourceType: RUNBOOK_EXECUTION_RESOURCE_TYPE,
});

/**
 * Engage and release kill switches.
 * @public
 */
export const killSwitchManagePermission = createPermission({
  name: 'runbooks.killswitch.manage',
  attributes: { action: 'update' },
});

/**
 * Every permission of the runbooks plugins.
 * @public
 */
export const runbooksPermissions = [
  runbookExecutePermission,
  executionReadPermission,
  executionApprovePermission,
  executionCancelPermission,
  killSwitchManagePermission,
];
