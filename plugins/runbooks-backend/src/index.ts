/**
 * The runbooks backend plugin.
 *
 * @packageDocumentation
 */

export { runbooksPlugin as default } from './plugin';
export {
  createRunbookExecutionConditionalDecision,
  hasRunbookOwnership,
  isEntityOwner,
  isRequester,
  runbookExecutionConditions,
  runbookExecutionResourceRef,
  runbookExecutionRules,
} from './permissions';
export { createRouter } from './service';
export type { RouterOptions } from './service';
