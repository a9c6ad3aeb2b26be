import { createRouteRef, createSubRouteRef } from '@backstage/core-plugin-api';

/**
 * The route of the Runbooks entity tab.
 * @public
 */
export const rootRouteRef = createRouteRef({ id: 'runbooks' });

/**
 * The plugin's own page (mounted at `/runbooks` in the local portal): the approvals inbox and the
 * execution pages.
 * @public
 */
export const runbooksPageRouteRef = createRouteRef({ id: 'runbooks-page' });

/**
 * The approvals inbox, under the plugin's page.
 * @public
 */
export const approvalsRouteRef = createSubRouteRef({
  id: 'runbooks-approvals',
  parent: runbooksPageRouteRef,
  path: '/approvals',
});

/**
 * One execution's page, under the plugin's page.
 * @public
 */
export const executionRouteRef = createSubRouteRef({
  id: 'runbooks-execution',
  parent: runbooksPageRouteRef,
  path: '/executions/:id',
});
