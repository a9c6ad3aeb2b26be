import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { makePlan, registerMutatingTool, registerReadTool } from '../contract';

/**
 * A server whose tools do next to nothing: the baseline for measuring the cost of the MCP round trip
 * and of the engine around it (benchmarks), and a minimal example of the tool contract. Its state is
 * one counter, passed in so that the servers streamable HTTP makes per request share it.
 * @public
 */
export function createNoopServer(
  state: { counter: number } = { counter: 0 },
): McpServer {
  const server = new McpServer({ name: 'runbooks-noop', version: '0.1.0' });
  registerReadTool(server, {
    name: 'read',
    description: 'Returns the number of applies so far; changes nothing.',
    input: { note: z.string().optional() },
    run: async () => ({ applied: state.counter }),
  });
  registerMutatingTool(server, {
    name: 'change',
    description:
      'Increments an in-memory counter: a mutating tool that plans, snapshots and applies instantly.',
    input: { by: z.number().int().min(1).max(100).default(1) },
    idempotent: false,
    destructive: false,
    snapshot: async () => ({ counter: state.counter }),
    plan: async input => ({
      plan: makePlan(
        [{ action: 'update', kind: 'Counter', name: 'counter', by: input.by }],
        `- counter: ${state.counter}\n+ counter: ${state.counter + input.by}\n`,
      ),
    }),
    apply: async input => {
      state.counter += input.by;
      return { counter: state.counter };
    },
  });
  return server;
}
