/**
 * Catalog backend module for the Runbook kind.
 *
 * @packageDocumentation
 */

export { catalogModuleRunbooks as default } from './module';
export * from './processor';
