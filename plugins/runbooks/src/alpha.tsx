import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { RunbooksClient, runbooksApiRef } from './api';
import { isRunbooksAvailable } from './conditions';

/** @alpha */
export const runbooksApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: runbooksApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new RunbooksClient({ discoveryApi, fetchApi }),
    }),
});

/** @alpha */
export const runbooksEntityContent = EntityContentBlueprint.make({
  params: {
    path: 'runbooks',
    title: 'Runbooks',
    filter: isRunbooksAvailable,
    loader: () =>
      import('./components/EntityRunbooksContent').then(m => (
        <m.EntityRunbooksContent />
      )),
  },
});

/**
 * The runbooks frontend plugin for the new frontend system.
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'runbooks',
  extensions: [runbooksApi, runbooksEntityContent],
});
