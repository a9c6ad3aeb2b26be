import { runServerMain } from './contract';
import { createNoopServer } from './noop';

/**
 * Entry of `runbooks-mcp-noop`.
 * @public
 */
export async function mainNoopServer(argv: string[]) {
  await runServerMain('runbooks-mcp-noop', createNoopServer, argv);
}
