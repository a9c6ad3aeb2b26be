import { pickEnv, runCommand, stopRunningCommands } from './runCommand';

const env = pickEnv(['PATH']);

describe('runCommand', () => {
  it('passes arguments as argv, never through a shell', async () => {
    const result = await runCommand('printf', ['%s|', '$(id)', 'a b', ';ls'], {
      env,
      timeoutMs: 10_000,
    });
    expect(result).toMatchObject({ code: 0, stdout: '$(id)|a b|;ls|' });
  });

  it('gives the child only the environment it is handed', async () => {
    process.env.RUNBOOKS_TEST_SECRET = 'do-not-pass';
    try {
      const result = await runCommand('env', [], { env, timeoutMs: 10_000 });
      expect(result.stdout).not.toContain('do-not-pass');
      expect(result.stdout).toContain('PATH=');
    } finally {
      delete process.env.RUNBOOKS_TEST_SECRET;
    }
  });

  it('caps output and kills the process group on timeout', async () => {
    const flood = await runCommand('yes', [], {
      env,
      timeoutMs: 300,
      maxOutputBytes: 1000,
    });
    expect(flood).toMatchObject({ timedOut: true, truncated: true });
    expect(flood.stdout.length).toBe(1000);
  });

  it('asks with the configured signal first (terraform wants SIGINT)', async () => {
    const controller = new AbortController();
    const pending = runCommand(
      'sh',
      ['-c', 'trap "exit 7" INT; while :; do sleep 0.1; done'],
      {
        env,
        timeoutMs: 30_000,
        signal: controller.signal,
        killSignal: 'SIGINT',
      },
    );
    setTimeout(() => controller.abort(), 200);
    expect(await pending).toMatchObject({ aborted: true, code: 7 });
  });

  it('stops every running command when the server exits', async () => {
    const pending = runCommand('sleep', ['30'], { env, timeoutMs: 30_000 });
    await new Promise(r => setTimeout(r, 100));
    stopRunningCommands();
    const result = await pending;
    expect(result.code).toBeNull();
    expect(result.timedOut).toBe(false);
  });
});
