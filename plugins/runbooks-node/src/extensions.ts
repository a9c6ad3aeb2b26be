import { createExtensionPoint } from '@backstage/backend-plugin-api';
import { ToolInvoker } from './tools';

/**
 * Lets backend modules add tools the runbooks engine can call: each invoker answers for the tools
 * it describes; the first that knows a tool serves it.
 * @public
 */
export interface RunbooksToolsExtensionPoint {
  addToolInvoker(invoker: ToolInvoker): void;
}

/**
 * The extension point for {@link RunbooksToolsExtensionPoint}.
 * @public
 */
export const runbooksToolsExtensionPoint =
  createExtensionPoint<RunbooksToolsExtensionPoint>({
    id: 'runbooks.tools',
  });
