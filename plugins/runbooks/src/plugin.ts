import {
  createApiFactory,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { RunbooksClient, runbooksApiRef } from './api';
import {
  approvalsRouteRef,
  executionRouteRef,
  rootRouteRef,
  runbooksPageRouteRef,
} from './routes';

/**
 * The runbooks frontend plugin (legacy frontend system).
 * @public
 */
export const runbooksPlugin = createPlugin({
  id: 'runbooks',
  apis: [
    createApiFactory({
      api: runbooksApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new RunbooksClient({ discoveryApi, fetchApi }),
    }),
  ],
  routes: {
    root: rootRouteRef,
    page: runbooksPageRouteRef,
    approvals: approvalsRouteRef,
    execution: executionRouteRef,
  },
});

/**
 * The Runbooks tab for an entity page: `<EntityLayout.Route path="/runbooks" title="Runbooks" if={isRunbooksAvailable}>`.
 * @public
 */
export const EntityRunbooksContent = runbooksPlugin.provide(
  createRoutableExtension({
    name: 'EntityRunbooksContent',
    component: () =>
      import('./components/EntityRunbooksContent').then(
        m => m.EntityRunbooksContent,
      ),
    mountPoint: rootRouteRef,
  }),
);

/**
 * The plugin's page: the approvals inbox and each execution's page, with the kill-switch banner.
 * Mount it in the app's routes, `<Route path="/runbooks" element={<RunbooksPage />} />`, and link
 * the sidebar to `/runbooks`: the tab then links executions to their pages.
 * @public
 */
export const RunbooksPage = runbooksPlugin.provide(
  createRoutableExtension({
    name: 'RunbooksPage',
    component: () =>
      import('./components/RunbooksPage').then(m => m.RunbooksPage),
    mountPoint: runbooksPageRouteRef,
  }),
);
