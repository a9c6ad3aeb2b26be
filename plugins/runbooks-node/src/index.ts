/**
 * Node.js library for the runbooks plugin: runbook files and the `runbooks` CLI.
 *
 * @packageDocumentation
 */

export * from './cli';
export * from './files';
