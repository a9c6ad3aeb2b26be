/**
 * The runbooks project's MCP tool servers and the tool contract they follow.
 *
 * @packageDocumentation
 */

export * from './ansible';
export * from './contract';
export * from './exec';
export * from './kubernetes';
export * from './main';
export * from './noop';
export * from './terraform';
export * from './demo';
