import { createBackendModule } from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { RunbookEntitiesProcessor } from './processor';

/**
 * Catalog module that adds the Runbook kind: validation and relations.
 * @public
 */
export const catalogModuleRunbooks = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'runbooks',
  register(reg) {
    reg.registerInit({
      deps: { catalog: catalogProcessingExtensionPoint },
      async init({ catalog }) {
        catalog.addProcessor(new RunbookEntitiesProcessor());
      },
    });
  },
});
