import { createPermissionResourceRef } from '@backstage/plugin-permission-node';
import { createPermissionRule } from '@backstage/plugin-permission-node';
import { RUNBOOK_EXECUTION_RESOURCE_TYPE } from '@runbooks/plugin-runbooks-common';
import { z } from 'zod';
import { Execution, ExecutionCondition } from '../engine';

/**
 * The permission resource of runbook executions: rules apply to an execution and filter lists of
 * them in the database.
 * @public
 */
export const runbookExecutionResourceRef = createPermissionResourceRef<
  Execution,
  ExecutionCondition
>().with({
  pluginId: 'runbooks',
  resourceType: RUNBOOK_EXECUTION_RESOURCE_TYPE,
});

const claims = z.object({
  claims: z
    .array(z.string())
    .describe(
      "Entity refs to match, usually the user's ownership refs (their user and group refs)",
    ),
});

/**
 * The execution was requested by one of `claims` (pass the user's ownership refs).
 * @public
 */
export const isRequester = createPermissionRule({
  name: 'IS_REQUESTER',
  description: 'Allow executions requested by one of the given users',
  resourceRef: runbookExecutionResourceRef,
  paramsSchema: claims,
  apply: (execution, { claims: refs }) => refs.includes(execution.requester),
  toQuery: ({ claims: refs }) => ({ property: 'requester', values: refs }),
});

/**
 * The execution's target entity is owned by one of `claims`.
 * @public
 */
export const isEntityOwner = createPermissionRule({
  name: 'IS_ENTITY_OWNER',
  description:
    'Allow executions whose target entity is owned by one of the given users or groups',
  resourceRef: runbookExecutionResourceRef,
  paramsSchema: claims,
  apply: (execution, { claims: refs }) =>
    !!execution.entityOwner && refs.includes(execution.entityOwner),
  toQuery: ({ claims: refs }) => ({ property: 'entityOwner', values: refs }),
});

/**
 * The execution's runbook is owned by one of `claims`.
 * @public
 */
export const hasRunbookOwnership = createPermissionRule({
  name: 'HAS_RUNBOOK_OWNERSHIP',
  description:
    'Allow executions of runbooks owned by one of the given users or groups',
  resourceRef: runbookExecutionResourceRef,
  paramsSchema: claims,
  apply: (execution, { claims: refs }) =>
    !!execution.runbookOwner && refs.includes(execution.runbookOwner),
  toQuery: ({ claims: refs }) => ({ property: 'runbookOwner', values: refs }),
});

/**
 * The rules of the execution resource, by name.
 * @public
 */
export const runbookExecutionRules = {
  isRequester,
  isEntityOwner,
  hasRunbookOwnership,
};
