import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { ExecutionStore } from './engine';
import { RunbookCatalog } from './runbook';
import { createRouter } from './service';

/**
 * The runbooks backend plugin.
 * @public
 */
export const runbooksPlugin = createBackendPlugin({
  pluginId: 'runbooks',
  register(env) {
    env.registerInit({
      deps: {
        logger: coreServices.logger,
        database: coreServices.database,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
        catalog: catalogServiceRef,
      },
      async init({ logger, database, httpAuth, httpRouter, catalog }) {
        await ExecutionStore.create({ database });
        httpRouter.use(
          await createRouter({
            logger,
            httpAuth,
            runbookCatalog: new RunbookCatalog(catalog, logger),
          }),
        );
      },
    });
  },
});
