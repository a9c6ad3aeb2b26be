import { spawn } from 'node:child_process';

/**
 * How to run one command.
 * @public
 */
export interface RunCommandOptions {
  cwd?: string;
  /** The whole environment of the child (nothing is inherited unless passed here). */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Bytes kept of stdout and of stderr each; the rest is dropped and `truncated` set. */
  maxOutputBytes?: number;
  stdin?: string;
  /** How the child is asked to stop on timeout, abort or server exit (default SIGTERM). */
  killSignal?: NodeJS.Signals;
  /** How long it may take to stop before SIGKILL (default 2 s). */
  killGraceMs?: number;
}

/** Process groups of the commands running now, with the signal that stops each. */
const running = new Map<number, NodeJS.Signals>();
let exitHookInstalled = false;

/**
 * Asks every running command's process group to stop (with its own kill signal). Called when the
 * server exits, so a killed or restarted server leaves no CLI running unsupervised.
 * @public
 */
export function stopRunningCommands() {
  for (const [pid, signal] of running) {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * What a command printed and how it ended.
 * @public
 */
export interface CommandResult {
  /** Exit code; null when the process was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  aborted: boolean;
}

/**
 * Runs a program with an argv array, never through a shell. The child gets its own process group,
 * which is asked to stop (SIGTERM unless told otherwise, then SIGKILL after the grace period) on
 * timeout, abort, or when this process exits.
 * @public
 */
export function runCommand(
  file: string,
  args: string[],
  options: RunCommandOptions,
): Promise<CommandResult> {
  const max = options.maxOutputBytes ?? 8 * 1024 * 1024;
  const killSignal = options.killSignal ?? 'SIGTERM';
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', stopRunningCommands);
  }
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new Error(`${file} not started: aborted`));
      return;
    }
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      shell: false,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) running.set(child.pid, killSignal);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let truncated = false;
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;

    const kill = () => {
      if (child.exitCode !== null || child.pid === undefined) return;
      try {
        process.kill(-child.pid, killSignal);
      } catch {
        // already gone
      }
      killTimer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, options.killGraceMs ?? 2000);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (data: Buffer) => {
      const chunk = data.subarray(0, Math.max(0, max - outBytes));
      if (chunk.length < data.length) truncated = true;
      outBytes += chunk.length;
      if (chunk.length) out.push(chunk);
    });
    child.stderr.on('data', (data: Buffer) => {
      const chunk = data.subarray(0, Math.max(0, max - errBytes));
      if (chunk.length < data.length) truncated = true;
      errBytes += chunk.length;
      if (chunk.length) err.push(chunk);
    });
    child.on('error', e => {
      if (child.pid !== undefined) running.delete(child.pid);
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(new Error(`${file} could not be started: ${e.message}`));
    });
    child.on('close', code => {
      if (child.pid !== undefined) running.delete(child.pid);
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        truncated,
        timedOut,
        aborted,
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin ?? '');
  });
}

/**
 * The environment passed to a wrapped CLI: only the named variables of this process (PATH, HOME,
 * the tool's own settings), never the whole environment of the server.
 * @public
 */
export function pickEnv(
  names: string[],
  extra: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of names) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined) env[k] = v;
  }
  return env;
}
