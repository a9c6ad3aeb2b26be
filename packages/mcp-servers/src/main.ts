import { runServerMain } from './contract';
import { createNoopServer } from './noop';

/**
 * Entry of `runbooks-mcp-noop`.
 * @public
 */
export async function mainNoopServer(argv: string[]) {
  const state = { counter: 0 };
  await runServerMain('runbooks-mcp-noop', () => createNoopServer(state), argv);
}
