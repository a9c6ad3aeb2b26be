import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  InProcessTool,
  InProcessToolInvoker,
  planDigest,
  runbooksToolsExtensionPoint,
} from '@runbooks/plugin-runbooks-node';

/**
 * A backend module serving in-process tools to the runbooks plugin, for tests about what the
 * engine and the API do rather than about tools. Returns the module and its invoker (which records
 * the calls).
 */
export function inProcessToolsModule(tools: Record<string, InProcessTool>) {
  const invoker = new InProcessToolInvoker(tools, planDigest);
  const module = createBackendModule({
    pluginId: 'runbooks',
    moduleId: 'in-process-tools',
    register(reg) {
      reg.registerInit({
        deps: { tools: runbooksToolsExtensionPoint },
        async init({ tools: ext }) {
          ext.addToolInvoker(invoker);
        },
      });
    },
  });
  return { module, invoker };
}
