import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { planDigest } from '@runbooks/plugin-runbooks-node';
import { z } from 'zod';
import {
  makePlan,
  registerMutatingTool,
  registerReadTool,
  ToolError,
} from '../contract';
import { SavedPlan, TerraformCli } from './TerraformCli';
import {
  planChanges,
  priorAddresses,
  stateOutputs,
  stateResources,
} from './terraformJson';
import {
  TerraformWorkspace,
  TerraformWorkspaces,
  WORKSPACE_NAME,
} from './workspaces';

/**
 * How the Terraform server is set up.
 * @public
 */
export interface TerraformServerOptions {
  /** Directories whose subdirectories (up to three levels) are the workspaces, by relative name. */
  roots: string[];
  /** Holds the CLI configuration and the saved plans; a private temp directory when not given. */
  stateDir?: string;
  /** Per terraform command (default 10 minutes). */
  timeoutMs?: number;
  /** The terraform binary (default: `terraform` on PATH). */
  terraformPath?: string;
  /** Further environment variables passed to terraform (provider credentials, proxies). */
  passEnv?: string[];
}

const NAME = '[A-Za-z_][A-Za-z0-9_-]*';
const INDEX = '(\\[(\\d+|"[A-Za-z0-9_./:@ -]*")\\])?';
const MODULE = `module\\.${NAME}${INDEX}`;
/** A managed resource instance: `type.name`, an optional index, optionally inside modules. */
const RESOURCE_ADDRESS = new RegExp(
  `^(${MODULE}\\.)*${NAME}\\.${NAME}${INDEX}$`,
);
/** What show-state looks up: a resource instance, managed or data. */
const STATE_ADDRESS = new RegExp(
  `^(${MODULE}\\.)*(data\\.)?${NAME}\\.${NAME}${INDEX}$`,
);
/** What `-target` takes: a resource instance or a module. */
const TARGET_ADDRESS = new RegExp(
  `^((${MODULE}\\.)*${NAME}\\.${NAME}${INDEX}|${MODULE}(\\.${MODULE})*)$`,
);

const workspaceInput = z
  .string()
  .max(200)
  .regex(
    WORKSPACE_NAME,
    'a workspace name: letters, digits, _ . - in segments separated by /, not starting with . or -',
  )
  .describe('The Terraform working directory, by its name under the roots');

const changeInput = {
  workspace: workspaceInput,
  replace: z
    .array(
      z
        .string()
        .max(512)
        .regex(
          RESOURCE_ADDRESS,
          'a resource address such as terraform_data.cache_node',
        ),
    )
    .max(50)
    .optional()
    .describe('Resource addresses to replace (terraform -replace)'),
  targets: z
    .array(
      z.string().max(512).regex(TARGET_ADDRESS, 'a resource or module address'),
    )
    .max(50)
    .optional()
    .describe(
      'Limit the plan to these resources or modules (terraform -target)',
    ),
};

type ChangeInput = z.infer<z.ZodObject<typeof changeInput>>;

/** A saved plan kept under its digest, for the apply that follows in the same call. */
interface PreparedPlan {
  file: string;
  hasChanges: boolean;
}

/**
 * The Terraform MCP server: `show-state` and `plan` (read-only) and `apply` (a saved plan under the
 * tool contract), on workspaces under the configured roots, with the real terraform CLI.
 * @public
 */
export function createTerraformServer(
  options: TerraformServerOptions,
): McpServer {
  const workspaces = new TerraformWorkspaces(options.roots);
  const ownStateDir = options.stateDir === undefined;
  const stateDir =
    options.stateDir ??
    fs.mkdtempSync(path.join(os.tmpdir(), 'runbooks-terraform-'));
  const cli = new TerraformCli({
    stateDir,
    timeoutMs: options.timeoutMs ?? 600_000,
    terraformPath: options.terraformPath,
    passEnv: options.passEnv,
  });
  const server = new McpServer({
    name: 'runbooks-terraform',
    version: '0.1.0',
  });
  if (ownStateDir) {
    server.server.onclose = () =>
      fs.rmSync(stateDir, { recursive: true, force: true });
  }

  const readState = async (
    workspace: TerraformWorkspace,
    signal: AbortSignal,
  ) => {
    const values = await cli.state(workspace, signal);
    return {
      workspace: workspace.name,
      resources: stateResources(values),
      outputs: stateOutputs(values),
    };
  };

  const planFor = async (
    workspace: TerraformWorkspace,
    input: ChangeInput,
    signal: AbortSignal,
  ) => {
    const saved: SavedPlan = await cli.plan(
      workspace,
      { replace: input.replace ?? [], targets: input.targets ?? [] },
      signal,
    );
    const inState = priorAddresses(saved.json);
    const missing = (input.replace ?? []).filter(a => !inState.has(a));
    if (missing.length) {
      cli.discardPlan(saved.file);
      // terraform would silently plan nothing for these
      throw new ToolError(
        `cannot replace ${missing.join(', ')}: not in the state of workspace '${
          workspace.name
        }'`,
      );
    }
    return {
      saved,
      plan: makePlan(planChanges(saved.json), saved.text),
    };
  };

  registerReadTool(server, {
    name: 'show-state',
    title: 'Show Terraform state',
    description:
      'Lists the resources in the state of a Terraform workspace (terraform show -json), sensitive values masked. With an address: whether it is in the state, and its values.',
    input: {
      workspace: workspaceInput,
      address: z
        .string()
        .max(512)
        .regex(
          STATE_ADDRESS,
          'a resource address such as terraform_data.cache_node',
        )
        .optional()
        .describe('A resource address to look up'),
    },
    run: async (input, { signal }) => {
      const workspace = workspaces.resolve(input.workspace);
      const state = await cli.exclusive(workspace, () =>
        readState(workspace, signal),
      );
      if (input.address === undefined) return state;
      const resource =
        state.resources.find(r => r.address === input.address) ?? null;
      return { ...state, found: resource !== null, resource };
    },
  });

  registerReadTool(server, {
    name: 'plan',
    title: 'Plan Terraform changes',
    description:
      'What terraform apply would change in a workspace (optionally replacing or targeting resources); saves nothing and changes nothing. The digest equals the one a dry-run of apply gives for the same input and state.',
    input: changeInput,
    run: async (input, { signal }) => {
      const workspace = workspaces.resolve(input.workspace);
      return cli.exclusive(workspace, async () => {
        const { saved, plan } = await planFor(workspace, input, signal);
        cli.discardPlan(saved.file);
        return {
          workspace: workspace.name,
          ...plan,
          planDigest: planDigest(plan),
        };
      });
    },
  });

  registerMutatingTool<typeof changeInput, PreparedPlan>(server, {
    name: 'apply',
    title: 'Apply a saved Terraform plan',
    description:
      'Plans a workspace into a saved plan (optionally replacing or targeting resources) and applies exactly that saved plan once its digest is approved. The snapshot is the state (resources and outputs).',
    input: changeInput,
    idempotent: false,
    destructive: true,
    snapshot: async (input, { signal }) => {
      const workspace = workspaces.resolve(input.workspace);
      return cli.exclusive(workspace, () => readState(workspace, signal));
    },
    plan: async (input, { signal }) => {
      const workspace = workspaces.resolve(input.workspace);
      return cli.exclusive(workspace, async () => {
        const { saved, plan } = await planFor(workspace, input, signal);
        const digestHex = planDigest(plan).slice('sha256:'.length);
        const file = cli.keepPlan(workspace, saved.file, digestHex);
        return { plan, prepared: { file, hasChanges: saved.hasChanges } };
      });
    },
    apply: async (input, { plan, prepared }, { signal }) => {
      if (!prepared) throw new Error('apply without a saved plan');
      const workspace = workspaces.resolve(input.workspace);
      return cli.exclusive(workspace, async () => {
        const changes = plan.changes.map(c => ({
          address: c.address,
          action: c.action,
          kind: c.kind,
        }));
        if (!prepared.hasChanges) {
          cli.discardPlan(prepared.file);
          return {
            applied: false,
            changes,
            objectCount: plan.objectCount,
            ...(await readState(workspace, signal)),
          };
        }
        await cli.applySavedPlan(workspace, prepared.file, signal);
        return {
          applied: true,
          changes,
          objectCount: plan.objectCount,
          ...(await readState(workspace, signal)),
        };
      });
    },
  });

  return server;
}
