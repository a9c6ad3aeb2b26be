import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ToolError } from '../contract';
import { CommandResult, pickEnv, runCommand } from '../exec';
import { CallbackReport, parseReport } from './report';

/**
 * Values a tool may pass as extra vars.
 * @public
 */
export type ExtraVars = Record<string, string | number | boolean>;

/**
 * One call's scratch space: HOME and Ansible's temp dirs, removed afterwards.
 * @public
 */
export interface Workspace {
  dir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * What a run of a playbook needs besides the playbook.
 * @public
 */
export interface PlaybookRun {
  limit: string;
  extraVars?: ExtraVars;
  signal: AbortSignal;
}

const TAIL_CHARS = 2000;

function tail(text: string) {
  const trimmed = text.trim();
  return trimmed.length > TAIL_CHARS
    ? `…${trimmed.slice(-TAIL_CHARS)}`
    : trimmed;
}

function escapeRegExp(text: string) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Extra vars as one JSON argument; strings are marked unsafe so Ansible never templates them
 * (`{{ lookup('pipe', …) }}` in a value stays text).
 * @public
 */
export function extraVarsArgument(extraVars: ExtraVars) {
  const marked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extraVars)) {
    marked[key] =
      typeof value === 'string' ? { __ansible_unsafe: value } : value;
  }
  return JSON.stringify(marked);
}

/**
 * Runs `ansible-playbook` against one inventory, with only the environment it needs and a fresh
 * HOME and temp dir per call, so no state leaks between calls and nothing depends on the server's.
 * @public
 */
export class AnsibleCli {
  constructor(
    private readonly options: {
      inventory: string;
      timeoutMs: number;
      binary?: string;
    },
  ) {}

  private get binary() {
    return this.options.binary ?? 'ansible-playbook';
  }

  /** Runs `fn` with a fresh workspace and a sanitizer that hides its paths in any text. */
  async withWorkspace<T>(
    fn: (ws: Workspace, sanitize: (text: string) => string) => Promise<T>,
  ): Promise<T> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'runbooks-ansible-'));
    try {
      await Promise.all(
        ['home', 'local', 'remote'].map(d => fs.mkdir(path.join(dir, d))),
      );
      const env = pickEnv(
        [
          'PATH',
          'TZ',
          'SSH_AUTH_SOCK',
          'ANSIBLE_CONFIG',
          'ANSIBLE_ROLES_PATH',
          'ANSIBLE_COLLECTIONS_PATH',
        ],
        {
          // Ansible refuses to start without a UTF-8 locale
          LC_ALL: 'C.UTF-8',
          HOME: path.join(dir, 'home'),
          ANSIBLE_LOCAL_TEMP: path.join(dir, 'local'),
          ANSIBLE_REMOTE_TEMP: path.join(dir, 'remote'),
          ANSIBLE_STDOUT_CALLBACK: 'json',
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_FORCE_COLOR: '0',
          ANSIBLE_RETRY_FILES_ENABLED: '0',
          ANSIBLE_HOST_KEY_CHECKING: 'False',
          ANSIBLE_LOCALHOST_WARNING: 'False',
          ANSIBLE_DEPRECATION_WARNINGS: 'False',
        },
      );
      // the temp dir and whatever Ansible names inside it (ansible-local-<pid><random>/tmp<random>)
      const tmpPaths = new RegExp(`${escapeRegExp(dir)}[^\\s'"]*`, 'g');
      return await fn({ dir, env }, text => text.replace(tmpPaths, '<tmp>'));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  private async run(ws: Workspace, args: string[], signal: AbortSignal) {
    const result = await runCommand(
      this.binary,
      ['--inventory', this.options.inventory, ...args],
      {
        env: ws.env,
        cwd: ws.dir,
        timeoutMs: this.options.timeoutMs,
        signal,
        maxOutputBytes: 64 * 1024 * 1024,
      },
    );
    if (result.timedOut) {
      throw new ToolError(
        `ansible-playbook timed out after ${Math.round(
          this.options.timeoutMs / 1000,
        )} s`,
      );
    }
    if (result.aborted) throw new ToolError('ansible-playbook was cancelled');
    return result;
  }

  private static commonArgs(playbook: string, run: PlaybookRun) {
    return [
      `--limit=${run.limit}`,
      ...(run.extraVars && Object.keys(run.extraVars).length > 0
        ? ['--extra-vars', extraVarsArgument(run.extraVars)]
        : []),
      playbook,
    ];
  }

  /** The hosts the playbook's plays would target under the limit (sorted, without duplicates). */
  async listHosts(
    ws: Workspace,
    sanitize: (text: string) => string,
    playbook: string,
    run: PlaybookRun,
  ): Promise<string[]> {
    const result = await this.run(
      ws,
      ['--list-hosts', ...AnsibleCli.commonArgs(playbook, run)],
      run.signal,
    );
    if (result.code !== 0) {
      if (/no hosts to target/.test(result.stderr)) return [];
      throw AnsibleCli.failure(result, sanitize);
    }
    const hosts = new Set<string>();
    const lines = result.stdout.split('\n');
    lines.forEach((line, i) => {
      const header = /^\s+hosts \((\d+)\):\s*$/.exec(line);
      if (!header) return;
      for (const host of lines.slice(i + 1, i + 1 + Number(header[1]))) {
        if (host.trim()) hosts.add(host.trim());
      }
    });
    return [...hosts].sort();
  }

  /** Runs the playbook (in check mode with diffs when `check`) and returns its JSON report. */
  async runPlaybook(
    ws: Workspace,
    sanitize: (text: string) => string,
    playbook: string,
    run: PlaybookRun & { check: boolean },
  ): Promise<CallbackReport> {
    const result = await this.run(
      ws,
      [
        ...(run.check ? ['--check', '--diff'] : []),
        ...AnsibleCli.commonArgs(playbook, run),
      ],
      run.signal,
    );
    const report = parseReport(result.stdout);
    if (!report) throw AnsibleCli.failure(result, sanitize);
    return report;
  }

  private static failure(
    result: CommandResult,
    sanitize: (text: string) => string,
  ) {
    const output = tail(sanitize(result.stderr || result.stdout));
    return new ToolError(
      `ansible-playbook failed (exit ${result.code})${
        output ? `: ${output}` : ''
      }`,
    );
  }
}
