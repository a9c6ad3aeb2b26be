import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { ToolError } from '../contract';
import { CommandResult, pickEnv, runCommand } from '../exec';
import { JsonPlan, JsonStateValues } from './terraformJson';
import { TerraformWorkspace } from './workspaces';

/** Environment variables a terraform child gets from this process besides the extra ones. */
const BASE_ENV = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL'];

/** Terraform waits this long for a state lock held by someone else. */
const LOCK_TIMEOUT = '-lock-timeout=30s';

/** One queue per workspace directory: the server never runs two terraform commands in one. */
const queues = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  const settled = next.catch(() => undefined);
  queues.set(key, settled);
  settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return next;
}

/**
 * How to run terraform.
 * @public
 */
export interface TerraformCliOptions {
  /** Holds the CLI configuration file and the saved plans. */
  stateDir: string;
  /** Per terraform command. */
  timeoutMs: number;
  /** The terraform binary (default: `terraform` on PATH). */
  terraformPath?: string;
  /** Further environment variables passed to terraform (provider credentials, proxies). */
  passEnv?: string[];
}

/** A saved plan and what `terraform show` says about it. */
export interface SavedPlan {
  file: string;
  json: JsonPlan;
  /** `terraform show -no-color` of the plan, trimmed. */
  text: string;
  /** Whether `-detailed-exitcode` reported changes. */
  hasChanges: boolean;
}

/**
 * Runs the real terraform CLI in confined workspaces: argv arrays, a CLI configuration of its
 * own, no prompts, and one command at a time per workspace.
 * @public
 */
export class TerraformCli {
  private readonly env: NodeJS.ProcessEnv;
  private readonly planDir: string;
  private readonly initialized = new Set<string>();

  constructor(private readonly options: TerraformCliOptions) {
    fs.mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    this.planDir = path.join(options.stateDir, 'plans');
    fs.mkdirSync(this.planDir, { recursive: true, mode: 0o700 });
    const cliConfig = path.join(options.stateDir, 'terraformrc');
    // an empty CLI configuration of our own: no credentials, mirrors or plugin settings of the host
    fs.writeFileSync(cliConfig, '', { mode: 0o600 });
    this.env = pickEnv([...BASE_ENV, ...(options.passEnv ?? [])], {
      TF_CLI_CONFIG_FILE: cliConfig,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
    });
  }

  /** Runs `task` while no other terraform command of this process runs in the workspace. */
  exclusive<T>(workspace: TerraformWorkspace, task: () => Promise<T>) {
    return serialized(workspace.dir, task);
  }

  private async run(
    workspace: TerraformWorkspace,
    args: string[],
    signal: AbortSignal,
    okCodes: number[] = [0],
  ): Promise<CommandResult> {
    const result = await runCommand(
      this.options.terraformPath ?? 'terraform',
      args,
      {
        cwd: workspace.dir,
        env: this.env,
        timeoutMs: this.options.timeoutMs,
        signal,
        // terraform saves its state and releases its lock on an interrupt; a kill would lose both
        killSignal: 'SIGINT',
        killGraceMs: 120_000,
      },
    ).catch(e => {
      throw new ToolError(`terraform ${args[0]}: ${(e as Error).message}`);
    });
    if (result.timedOut) {
      throw new ToolError(
        `terraform ${args[0]} in workspace '${workspace.name}' timed out after ${this.options.timeoutMs} ms`,
      );
    }
    if (result.aborted) {
      throw new ToolError(
        `terraform ${args[0]} in workspace '${workspace.name}' was cancelled`,
      );
    }
    if (result.code === null || !okCodes.includes(result.code)) {
      const detail = (result.stderr.trim() || result.stdout.trim()).slice(
        -4000,
      );
      throw new ToolError(
        `terraform ${args[0]} in workspace '${workspace.name}' failed (exit ${result.code}): ${detail}`,
      );
    }
    return result;
  }

  /** `terraform init` once per process for a workspace without a `.terraform` directory. */
  private async ensureInit(workspace: TerraformWorkspace, signal: AbortSignal) {
    if (this.initialized.has(workspace.dir)) return;
    if (!fs.existsSync(path.join(workspace.dir, '.terraform'))) {
      await this.run(workspace, ['init', '-input=false', '-no-color'], signal);
    }
    this.initialized.add(workspace.dir);
  }

  /** The state's values from `terraform show -json` (undefined for an empty state). */
  async state(
    workspace: TerraformWorkspace,
    signal: AbortSignal,
  ): Promise<JsonStateValues | undefined> {
    await this.ensureInit(workspace, signal);
    const result = await this.run(
      workspace,
      ['show', '-json', '-no-color'],
      signal,
    );
    return (JSON.parse(result.stdout) as { values?: JsonStateValues }).values;
  }

  /** Plans into a saved plan file in the state directory and reads it back. */
  async plan(
    workspace: TerraformWorkspace,
    request: { replace: string[]; targets: string[] },
    signal: AbortSignal,
  ): Promise<SavedPlan> {
    await this.ensureInit(workspace, signal);
    const file = path.join(this.planDir, `${randomUUID()}.tfplan`);
    try {
      const planned = await this.run(
        workspace,
        [
          'plan',
          '-input=false',
          '-no-color',
          '-detailed-exitcode',
          LOCK_TIMEOUT,
          `-out=${file}`,
          ...request.replace.map(address => `-replace=${address}`),
          ...request.targets.map(address => `-target=${address}`),
        ],
        signal,
        [0, 2],
      );
      const json = await this.run(
        workspace,
        ['show', '-json', '-no-color', file],
        signal,
      );
      const text = await this.run(
        workspace,
        ['show', '-no-color', file],
        signal,
      );
      return {
        file,
        json: JSON.parse(json.stdout) as JsonPlan,
        text: text.stdout.trim(),
        hasChanges: planned.code === 2,
      };
    } catch (e) {
      fs.rmSync(file, { force: true });
      throw e;
    }
  }

  /** Moves a saved plan to a stable name (`<digest hex>.tfplan` in a folder of its workspace). */
  keepPlan(workspace: TerraformWorkspace, file: string, key: string) {
    const dir = this.workspacePlanDir(workspace);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const kept = path.join(dir, `${key}.tfplan`);
    fs.renameSync(file, kept);
    return kept;
  }

  /** Deletes a saved plan that will not be applied. */
  discardPlan(file: string) {
    fs.rmSync(file, { force: true });
  }

  /** Applies exactly a saved plan; terraform itself refuses one made against an older state. */
  async applySavedPlan(
    workspace: TerraformWorkspace,
    file: string,
    signal: AbortSignal,
  ) {
    try {
      await this.run(
        workspace,
        ['apply', '-input=false', '-no-color', LOCK_TIMEOUT, file],
        signal,
      );
    } catch (e) {
      if (e instanceof ToolError && /Saved plan is stale/.test(e.message)) {
        throw new ToolError(
          `terraform refused the saved plan for workspace '${workspace.name}': the state changed after the plan was made; nothing was applied`,
        );
      }
      throw e;
    } finally {
      // every saved plan of this workspace was made against the state before this apply
      fs.rmSync(this.workspacePlanDir(workspace), {
        recursive: true,
        force: true,
      });
    }
  }

  private workspacePlanDir(workspace: TerraformWorkspace) {
    return path.join(
      this.planDir,
      createHash('sha256').update(workspace.dir).digest('hex').slice(0, 16),
    );
  }
}
