import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  registerMutatingTool,
  registerReadTool,
  ToolContext,
  ToolError,
} from '../contract';
import { AnsibleCli, ExtraVars } from './AnsibleCli';
import { PLAYBOOK_NAME_PATTERN, resolvePlaybook } from './playbooks';
import {
  changedTasks,
  gatheredValues,
  planFromCheck,
  runOutcome,
  snapshotFromCheck,
  throwOnFailure,
} from './report';

/**
 * Configuration of the Ansible server.
 * @public
 */
export interface AnsibleServerOptions {
  /** Folders holding the playbooks, searched in order; `read-only/` in each holds gather playbooks. */
  roots: string[];
  /** The inventory file every run uses. */
  inventory: string;
  /** Limit of each `ansible-playbook` run (default 10 minutes). */
  timeoutMs?: number;
  /** The `ansible-playbook` program (default: found on PATH). */
  ansiblePlaybook?: string;
}

// Ansible host patterns (groups, hosts, globs, `:` `:&` `:!`, `[0:3]`); no `@file`, no `~regex`
const HOST_PATTERN = /^[A-Za-z0-9_.*:,&![\]][A-Za-z0-9_.*:,&![\]-]*$/;

// variables that steer Ansible itself (connection, interpreter, ssh arguments) or its magic vars
const RESERVED_VAR =
  /^(ansible_|inventory_|playbook_dir$|role_|hostvars$|groups$|group_names$|omit$|environment$|vars$)/;

const inputShape = {
  playbook: z
    .string()
    .max(100)
    .regex(
      PLAYBOOK_NAME_PATTERN,
      'playbook is a name (lowercase letters, digits, - and _), not a path',
    )
    .describe(
      'Name of the playbook, e.g. purge-queue for <root>/purge-queue.yml',
    ),
  limit: z
    .string()
    .min(1)
    .max(500)
    .regex(
      HOST_PATTERN,
      'limit must be an Ansible host pattern (hosts, groups, globs, : & !), not starting with -',
    )
    .describe(
      'Host pattern (a group or hosts of the inventory); must match at least one host',
    ),
  extraVars: z
    .record(
      z.string(),
      z.union([z.string().max(4096), z.number(), z.boolean()]),
    )
    // checked on the record: a record's key errors lose their message on the way to the client
    .superRefine((vars, ctx) => {
      for (const name of Object.keys(vars)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `extra var '${name}': names are identifiers`,
          });
        } else if (RESERVED_VAR.test(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `extra var '${name}': extra vars cannot set Ansible connection or magic variables`,
          });
        }
      }
    })
    .optional()
    .describe(
      'Variables for the playbook; strings are passed as text, never templated',
    ),
};

type Input = {
  playbook: string;
  limit: string;
  extraVars?: ExtraVars;
};

/**
 * An MCP server wrapping `ansible-playbook`: `run-playbook` (check-mode plan, digest-bound apply) and
 * `gather` (reviewed read-only playbooks under `read-only/`).
 * @public
 */
export function createAnsibleServer(options: AnsibleServerOptions): McpServer {
  if (options.roots.length === 0) {
    throw new Error('the Ansible server needs at least one playbook root');
  }
  const roots = options.roots.map(r => path.resolve(r));
  for (const root of roots) {
    if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
      throw new Error(`playbook root ${root} is not a directory`);
    }
  }
  const inventory = path.resolve(options.inventory);
  if (!fs.statSync(inventory, { throwIfNoEntry: false })) {
    throw new Error(`inventory ${inventory} does not exist`);
  }
  const cli = new AnsibleCli({
    inventory,
    timeoutMs: options.timeoutMs ?? 10 * 60_000,
    binary: options.ansiblePlaybook,
  });

  /** Check run plus the hosts of the limit; refuses a limit that targets no host. */
  const check = (input: Input, readOnly: boolean, context: ToolContext) =>
    cli.withWorkspace(async (ws, sanitize) => {
      const playbook = await resolvePlaybook(roots, input.playbook, {
        readOnly,
      });
      const run = {
        limit: input.limit,
        extraVars: input.extraVars,
        signal: context.signal,
      };
      // side by side to save a second; the host list decides first (a check run on no host fails)
      const [listed, checked] = await Promise.allSettled([
        cli.listHosts(ws, sanitize, playbook, run),
        cli.runPlaybook(ws, sanitize, playbook, { ...run, check: true }),
      ]);
      if (listed.status === 'fulfilled' && listed.value.length === 0) {
        throw new ToolError(
          `limit '${input.limit}' matches no host that playbook '${input.playbook}' targets in the inventory`,
        );
      }
      if (listed.status === 'rejected') throw listed.reason;
      if (checked.status === 'rejected') throw checked.reason;
      const hosts = listed.value;
      const report = checked.value;
      throwOnFailure(report, sanitize, `check run of ${input.playbook}`);
      return { hosts, report, sanitize };
    });

  const server = new McpServer({ name: 'runbooks-ansible', version: '0.1.0' });

  registerMutatingTool(server, {
    name: 'run-playbook',
    title: 'Run an Ansible playbook',
    description:
      'Runs a playbook of the configured roots on the hosts of `limit`. The dry-run is a check-mode run with diffs: one change per host and task that would change; objectCount counts the hosts that would change.',
    input: inputShape,
    // a playbook may be idempotent, but the server cannot know
    idempotent: false,
    destructive: true,
    snapshot: async (input, context) => {
      const { hosts, report, sanitize } = await check(input, false, context);
      return {
        playbook: input.playbook,
        ...snapshotFromCheck(report, hosts, sanitize),
      };
    },
    plan: async (input, context) => {
      const { hosts, report, sanitize } = await check(input, false, context);
      return { plan: planFromCheck(report, hosts, sanitize) };
    },
    apply: async (input, _planned, context) =>
      cli.withWorkspace(async (ws, sanitize) => {
        const playbook = await resolvePlaybook(roots, input.playbook, {
          readOnly: false,
        });
        const report = await cli.runPlaybook(ws, sanitize, playbook, {
          limit: input.limit,
          extraVars: input.extraVars,
          signal: context.signal,
          check: false,
        });
        throwOnFailure(report, sanitize, input.playbook);
        return { playbook: input.playbook, ...runOutcome(report, sanitize) };
      }),
  });

  registerReadTool(server, {
    name: 'gather',
    title: 'Gather facts with a read-only playbook',
    description:
      'Runs a reviewed read-only playbook (read-only/<name>.yml of a root) in check mode and returns what each host reported with set_stats (stats) and debug (messages): { hosts: [{ host, stats, messages }] }.',
    input: inputShape,
    run: async (input, context) => {
      // playbooks under read-only/ are reviewed as read-only; check mode is a second guard
      const { report, sanitize } = await check(input, true, context);
      const changed = changedTasks(report);
      if (changed.length > 0) {
        throw new ToolError(
          `read-only playbook '${input.playbook}' would change ${changed
            .map(c => `${c.host} (task '${c.task}')`)
            .join(', ')}; refusing to treat it as read-only`,
        );
      }
      return {
        playbook: input.playbook,
        ...gatheredValues(report, sanitize),
      };
    },
  });

  return server;
}
