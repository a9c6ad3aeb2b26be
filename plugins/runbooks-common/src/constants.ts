/**
 * The apiVersion of the Runbook kind.
 * @public
 */
export const RUNBOOK_API_VERSION = 'runbooks.backstage.io/v1alpha1';

/**
 * The kind name of runbook entities.
 * @public
 */
export const RUNBOOK_KIND = 'Runbook';

/**
 * Relation from a runbook to an entity it acts on.
 * @public
 */
export const RELATION_RUNBOOK_FOR = 'runbookFor';

/**
 * Relation from an entity to a runbook that acts on it (the inverse of `runbookFor`).
 * @public
 */
export const RELATION_HAS_RUNBOOK = 'hasRunbook';

/**
 * Annotation by which an entity opts in to runbooks: a comma-separated list of runbook names or refs.
 * @public
 */
export const ANNOTATION_RUNBOOKS = 'runbooks.backstage.io/runbooks';

/**
 * Annotation giving an entity's tier (such as `1` or `critical`); the `tier` label is read when it
 * is absent. A change that reaches an entity of a critical tier has at least a high blast radius.
 * @public
 */
export const ANNOTATION_TIER = 'runbooks.backstage.io/tier';
