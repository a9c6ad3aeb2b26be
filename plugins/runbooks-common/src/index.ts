/**
 * The Runbook kind shared by the runbooks plugins: schema, types, parameter compiler, references.
 *
 * @packageDocumentation
 */

export * from './constants';
export * from './expressions';
export * from './kind';
export * from './parameters';
export * from './permissions';
export * from './references';
export * from './yaml';
export * from './api';
