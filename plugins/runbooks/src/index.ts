/**
 * The runbooks frontend plugin: the Runbooks tab on catalog entity pages, the approvals inbox and
 * the execution pages.
 *
 * @packageDocumentation
 */

export { runbooksPlugin, EntityRunbooksContent, RunbooksPage } from './plugin';
export { isRunbooksAvailable } from './conditions';
export * from './api';
export {
  rootRouteRef,
  runbooksPageRouteRef,
  approvalsRouteRef,
  executionRouteRef,
} from './routes';
