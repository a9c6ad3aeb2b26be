/**
 * Node.js library for the runbooks plugin: extension points, the tool boundary of the engine,
 * runbook files and the `runbooks` CLI.
 *
 * @packageDocumentation
 */

export * from './agent';
export * from './cli';
export * from './extensions';
export * from './files';
export * from './oncall';
export * from './provenance';
export * from './tools';
