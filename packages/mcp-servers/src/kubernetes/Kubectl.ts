import { ToolError } from '../contract';
import { CommandResult, pickEnv, runCommand } from '../exec';

/**
 * Where and how the Kubernetes server runs kubectl.
 * @public
 */
export interface KubectlOptions {
  /** Path of the kubeconfig; otherwise kubectl's default (`KUBECONFIG`, `~/.kube/config`). */
  kubeconfig?: string;
  /** Context of the kubeconfig to use; otherwise its current context. */
  context?: string;
  /** Default timeout of one kubectl call (default 60 s). */
  timeoutMs?: number;
  /** kubectl's discovery cache directory (`--cache-dir`); otherwise `~/.kube/cache`. */
  cacheDir?: string;
  /** The kubectl binary (default `kubectl` from PATH). */
  binary?: string;
}

/** Options of one call. */
export interface KubectlCall {
  signal?: AbortSignal;
  timeoutMs?: number;
  stdin?: string;
  /** Strings to replace by `<redacted>` in error messages (secret values). */
  redact?: string[];
}

/**
 * Runs kubectl with argv arrays (never a shell), the configured kubeconfig and context, and an
 * environment of PATH, HOME and KUBECONFIG only.
 * @public
 */
export class Kubectl {
  constructor(private readonly options: KubectlOptions = {}) {}

  private globalArgs() {
    const args: string[] = [];
    if (this.options.kubeconfig)
      args.push('--kubeconfig', this.options.kubeconfig);
    if (this.options.context) args.push('--context', this.options.context);
    if (this.options.cacheDir) args.push('--cache-dir', this.options.cacheDir);
    return args;
  }

  /** Runs kubectl and returns what it printed, whatever its exit code. */
  async raw(args: string[], call: KubectlCall = {}): Promise<CommandResult> {
    return runCommand(
      this.options.binary ?? 'kubectl',
      [...this.globalArgs(), ...args],
      {
        env: pickEnv(['PATH', 'HOME', 'KUBECONFIG']),
        timeoutMs: call.timeoutMs ?? this.options.timeoutMs ?? 60_000,
        signal: call.signal,
        stdin: call.stdin,
      },
    );
  }

  /** Runs kubectl; a non-zero exit becomes a ToolError with kubectl's message. */
  async run(args: string[], call: KubectlCall = {}): Promise<string> {
    const result = await this.raw(args, call);
    if (result.code !== 0)
      throw new ToolError(failureMessage(args, result, call.redact));
    return result.stdout;
  }

  /** Runs kubectl with `-o json` and parses its output. */
  async json<T = any>(args: string[], call: KubectlCall = {}): Promise<T> {
    const out = await this.run([...args, '-o', 'json'], call);
    try {
      return JSON.parse(out) as T;
    } catch {
      throw new ToolError(`kubectl ${args[0]} did not print JSON`);
    }
  }

  /** One object, or undefined when it does not exist. */
  async getOptional<T = any>(
    resource: string,
    name: string,
    namespace: string | undefined,
    call: KubectlCall = {},
  ): Promise<T | undefined> {
    const args = ['get', resource, name, '--ignore-not-found', '-o', 'json'];
    if (namespace) args.push('--namespace', namespace);
    const out = await this.run(args, call);
    return out.trim() ? (JSON.parse(out) as T) : undefined;
  }

  /** One object, or a ToolError saying it does not exist. */
  async get<T = any>(
    resource: string,
    name: string,
    namespace: string | undefined,
    call: KubectlCall = {},
  ): Promise<T> {
    const obj = await this.getOptional<T>(resource, name, namespace, call);
    if (!obj) {
      throw new ToolError(
        `${resource} "${name}" not found${
          namespace ? ` in namespace "${namespace}"` : ''
        }`,
      );
    }
    return obj;
  }
}

/** What a failed kubectl call reports: the command (without global flags) and its stderr. */
export function failureMessage(
  args: string[],
  result: CommandResult,
  redact: string[] = [],
) {
  const verb = args.slice(0, 2).join(' ');
  let text = (result.stderr.trim() || result.stdout.trim()).slice(-4000);
  for (const secret of redact.filter(s => s.length > 0)) {
    text = text.split(secret).join('<redacted>');
  }
  if (result.timedOut)
    return `kubectl ${verb} timed out${text ? `: ${text}` : ''}`;
  if (result.aborted) return `kubectl ${verb} was cancelled`;
  return `kubectl ${verb} failed (exit ${result.code}): ${text || 'no output'}`;
}

/** Splits kubectl output that prints several JSON documents one after another. */
export function splitJsonDocuments(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0 && start >= 0) {
        docs.push(JSON.parse(text.slice(start, i + 1)));
        start = -1;
      }
    }
  }
  return docs;
}
