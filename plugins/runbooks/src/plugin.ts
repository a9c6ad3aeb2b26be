import {
  createApiFactory,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { RunbooksClient, runbooksApiRef } from './api';
import { rootRouteRef } from './routes';

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
