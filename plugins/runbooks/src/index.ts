/**
 * The runbooks frontend plugin: the Runbooks tab on catalog entity pages.
 *
 * @packageDocumentation
 */

export { runbooksPlugin, EntityRunbooksContent } from './plugin';
export { isRunbooksAvailable } from './conditions';
export * from './api';
export { rootRouteRef } from './routes';
