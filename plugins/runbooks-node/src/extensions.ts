import { createExtensionPoint } from '@backstage/backend-plugin-api';
import { RunbookPlanner } from './agent';
import { OnCallProvider } from './oncall';
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

/**
 * Lets a backend module replace where the runbooks plugin learns who is on call for a group (for
 * escalating approvals); by default it reads `runbooks.onCall` from config.
 * @public
 */
export interface RunbooksOnCallExtensionPoint {
  setOnCallProvider(provider: OnCallProvider): void;
}

/**
 * The extension point for {@link RunbooksOnCallExtensionPoint}.
 * @public
 */
export const runbooksOnCallExtensionPoint =
  createExtensionPoint<RunbooksOnCallExtensionPoint>({
    id: 'runbooks.onCall',
  });

/**
 * Lets backend modules add planners the agent may use; `runbooks.agent.planner` picks one by id
 * (by default the Anthropic planner when an API key is configured, the offline planner otherwise).
 * @public
 */
export interface RunbooksPlannerExtensionPoint {
  addPlanner(planner: RunbookPlanner): void;
}

/**
 * The extension point for {@link RunbooksPlannerExtensionPoint}.
 * @public
 */
export const runbooksPlannerExtensionPoint =
  createExtensionPoint<RunbooksPlannerExtensionPoint>({
    id: 'runbooks.planners',
  });
