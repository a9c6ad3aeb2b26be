import { mockCredentials, TestBackend } from '@backstage/backend-test-utils';
import {
  executionIdOfBundle,
  runCli,
  trustedKeyFromPem,
} from '@runbooks/plugin-runbooks-node';
import fs from 'node:fs/promises';
import net, { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  ENDED,
  runExecution,
  startRunbooksTestBackend,
  waitForStatus,
} from '../__testUtils__/backend';
import {
  checkoutEntity,
  newSigningKey,
  replicaTools,
  scaleRunbookEntity,
} from '../__testUtils__/fixtures';

jest.setTimeout(60_000);

const aliceToken = mockCredentials.user.token('user:default/alice');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) },
  };
}

describe('the runbooks CLI against a real backend (verify, export)', () => {
  const signing = newSigningKey();
  const stranger = newSigningKey();
  let backend: TestBackend;
  let url: string;
  let dir: string;
  let keyFile: string;
  let strangerFile: string;
  const executions: Array<{
    id: string;
    mode: string;
    status: string;
    provenance: string;
    statements: number;
  }> = [];
  let finalReplicas = 0;
  const started = new Date(Date.now() - 60_000).toISOString();
  /** The CLI options that reach the backend as alice. */
  const asAlice = () => ['--backend', url, '--token', aliceToken];

  beforeAll(async () => {
    const state = { replicas: 2 };
    ({ backend } = await startRunbooksTestBackend({
      entities: [checkoutEntity, scaleRunbookEntity()],
      tools: replicaTools(state),
      config: { provenance: { signingKey: signing.privatePem } },
    }));
    url = `http://localhost:${(backend.server.address() as AddressInfo).port}`;
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'runbooks-cli-'));
    keyFile = path.join(dir, 'signing.pem');
    strangerFile = path.join(dir, 'stranger.pem');
    await fs.writeFile(keyFile, signing.publicPem);
    await fs.writeFile(strangerFile, stranger.publicPem);

    for (const [mode, replicas] of [
      ['dry-run', 4],
      ['execute', 5],
      ['execute', 3],
    ] as const) {
      const id = await runExecution(
        backend.server,
        'scale',
        { replicas },
        mode,
      );
      const done = await waitForStatus(backend.server, id, ENDED);
      executions.push({
        id,
        mode,
        status: done.execution.status,
        provenance: done.provenance.status,
        statements: done.provenance.statements,
      });
    }
    finalReplicas = state.replicas;
  });

  afterAll(async () => {
    await backend?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    process.exitCode = undefined;
  });

  it('verifies an execution locally with the given key', async () => {
    // what the backend says of the executions the CLI is about to check
    expect(executions.map(e => [e.mode, e.status, e.provenance])).toEqual([
      ['dry-run', 'succeeded', 'verified'],
      ['execute', 'succeeded', 'verified'],
      ['execute', 'succeeded', 'verified'],
    ]);
    expect(finalReplicas).toBe(3);
    const [, executed] = executions;
    const { out, io } = capture();
    const args = ['verify', executed.id, '--backend', url, '--key', keyFile];
    await expect(runCli([...args, '--token', aliceToken], io)).resolves.toBe(0);
    expect(out[0]).toBe(
      `execution ${executed.id} (succeeded): verified, 3 statement(s), checkpoint matches`,
    );
    expect(out.slice(1, 4)).toEqual([
      expect.stringMatching(
        /^ {2}1\. step 1 'read'\s+signature valid\s+chain intact$/,
      ),
      expect.stringMatching(
        /^ {2}2\. step 2 'scale'\s+signature valid\s+chain intact$/,
      ),
      expect.stringMatching(
        /^ {2}3\. checkpoint\s+signature valid\s+chain intact$/,
      ),
    ]);
    expect(out.at(-1)).toBe(
      'verified: 3 statement(s), chain intact, checkpoint matches',
    );

    // the token from the environment, and the report as JSON
    const json = capture();
    const refused = capture();
    const saved = process.env.RUNBOOKS_TOKEN;
    try {
      process.env.RUNBOOKS_TOKEN = mockCredentials.user.invalidToken();
      await expect(runCli(args, refused.io)).resolves.toBe(2);
      process.env.RUNBOOKS_TOKEN = aliceToken;
      await expect(runCli([...args, '--json'], json.io)).resolves.toBe(0);
    } finally {
      if (saved === undefined) delete process.env.RUNBOOKS_TOKEN;
      else process.env.RUNBOOKS_TOKEN = saved;
    }
    expect(refused.err[0]).toMatch(/answered 401/);
    const report = JSON.parse(json.out.join('\n'));
    expect(report).toMatchObject({
      executionId: executed.id,
      executionStatus: 'succeeded',
      status: 'verified',
      statements: 3,
      checkpoint: 'matches',
      keyHints: [trustedKeyFromPem(signing.publicPem).hint],
    });

    // a dry run is verified the same way, its mutating step marked as planned only
    const dry = capture();
    await expect(
      runCli(
        ['verify', executions[0].id, ...asAlice(), '--key', keyFile],
        dry.io,
      ),
    ).resolves.toBe(0);
    expect(dry.out).toContainEqual(
      expect.stringMatching(
        /^ {2}2\. step 2 'scale' \(dry-run\)\s+signature valid/,
      ),
    );
  });

  it('reports every statement as untrusted under a key that did not sign', async () => {
    const { out, io } = capture();
    await expect(
      runCli(
        ['verify', executions[1].id, ...asAlice(), '--key', strangerFile],
        io,
      ),
    ).resolves.toBe(1);
    expect(out[0]).toMatch(/: broken, 3 statement\(s\)/);
    expect(
      out.filter(l => /signature untrusted key\s+chain intact/.test(l)),
    ).toHaveLength(3);
    expect(out.at(-1)).toMatch(
      /^first broken link: statement 1 \(step 1 'read'\): signed with a key that is not trusted/,
    );

    // an old key next to the right one changes nothing
    const both = capture();
    await expect(
      runCli(
        [
          'verify',
          executions[1].id,
          ...asAlice(),
          '--key',
          strangerFile,
          '--key',
          keyFile,
        ],
        both.io,
      ),
    ).resolves.toBe(0);
  });

  it('exports a period for the auditor, which verifies offline and detects a flipped character', async () => {
    const out = path.join(dir, 'export');
    const to = new Date(Date.now() + 60_000).toISOString();
    const exportArgs = [
      'export',
      '--from',
      started,
      '--to',
      to,
      ...asAlice(),
      '--out',
      out,
    ];
    const run = capture();
    await expect(runCli(exportArgs, run.io)).resolves.toBe(0);
    const total = executions.reduce((n, e) => n + e.statements, 0);
    expect(total).toBe(9);
    expect(run.out).toEqual([
      `exported ${total} bundle(s) of ${executions.length} execution(s) to ${out}`,
    ]);

    const hint = trustedKeyFromPem(signing.publicPem).hint;
    expect((await fs.readdir(out)).sort()).toEqual([
      'README.md',
      'bundles.jsonl',
      'keys',
      'summary.csv',
    ]);
    expect(await fs.readdir(path.join(out, 'keys'))).toEqual([`${hint}.pem`]);
    expect(
      trustedKeyFromPem(
        await fs.readFile(path.join(out, 'keys', `${hint}.pem`), 'utf8'),
      ).hint,
    ).toBe(hint);
    const csv = (await fs.readFile(path.join(out, 'summary.csv'), 'utf8'))
      .split('\r\n')
      .filter(Boolean);
    expect(csv[0]).toBe(
      'execution,runbook,entity,mode,requester,approvers,start,end,outcome,statements',
    );
    expect(
      csv
        .slice(1)
        .map(row => row.split(',')[0])
        .sort(),
    ).toEqual(executions.map(e => e.id).sort());
    const lines = (await fs.readFile(path.join(out, 'bundles.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean);
    expect(lines).toHaveLength(total);
    const readme = await fs.readFile(path.join(out, 'README.md'), 'utf8');
    expect(readme).toContain(
      `runbooks verify --file bundles.jsonl --key keys/${hint}.pem`,
    );
    expect(readme).toContain(
      'https://runbooks.backstage.io/provenance/step/v1',
    );
    expect(readme).toContain('out of band');

    // the auditor verifies the export with the published key
    const bundles = path.join(out, 'bundles.jsonl');
    const verified = capture();
    await expect(
      runCli(['verify', '--file', bundles, '--key', keyFile], verified.io),
    ).resolves.toBe(0);
    expect(verified.out.at(-1)).toBe(
      `verified: 3 execution(s), ${total} statement(s), every chain intact and closed by a matching checkpoint`,
    );
    for (const e of executions) {
      expect(verified.out).toContain(
        `execution ${e.id}: verified, 3 statement(s), checkpoint matches`,
      );
    }

    // one character of the base64 payload of the second statement of the second execution in
    // the file, the first whose flip still decodes to a statement of that execution
    const ids = lines.map(l => executionIdOfBundle(JSON.parse(l)));
    const second = ids.find(id => id !== ids[0])!;
    const index = ids.indexOf(second) + 1;
    const bundle = JSON.parse(lines[index]);
    const payload: string = bundle.dsseEnvelope.payload;
    let flipped: string | undefined;
    for (let at = 100; !flipped && at < payload.length - 4; at++) {
      const candidate = `${payload.slice(0, at)}${
        payload[at] === 'A' ? 'B' : 'A'
      }${payload.slice(at + 1)}`;
      try {
        const statement = JSON.parse(
          Buffer.from(candidate, 'base64').toString(),
        );
        if (statement.predicate.execution.id === second) flipped = candidate;
      } catch {
        // not JSON any more: the next position
      }
    }
    expect(flipped).toBeDefined();
    bundle.dsseEnvelope.payload = flipped;
    const tampered = [...lines];
    tampered[index] = JSON.stringify(bundle);
    const tamperedFile = path.join(dir, 'tampered.jsonl');
    await fs.writeFile(tamperedFile, `${tampered.join('\n')}\n`);
    const broken = capture();
    await expect(
      runCli(['verify', '--file', tamperedFile, '--key', keyFile], broken.io),
    ).resolves.toBe(1);
    const header = broken.out.findIndex(l =>
      l.startsWith(`execution ${second}:`),
    );
    expect(broken.out[header]).toMatch(/: broken, 3 statement\(s\)/);
    expect(broken.out[header + 2]).toMatch(
      /^ {2}2\. step 2 'scale'\s+signature invalid\s+chain intact {2}signature invalid/,
    );
    expect(broken.out[header + 3]).toMatch(
      /^ {2}3\. checkpoint .*chain broken/,
    );
    expect(broken.out[header + 4]).toMatch(
      /^first broken link: statement 2 \(step 2 'scale'\): signature invalid/,
    );
    expect(
      broken.out.filter(l => /^execution .*: verified, 3 statement/.test(l)),
    ).toHaveLength(2);
    expect(broken.out.at(-1)).toBe(
      `not verified: 1 of 3 execution(s) do not verify (first: execution ${second}, statement 2)`,
    );

    // the JSON report names the same
    const json = capture();
    await expect(
      runCli(
        ['verify', '--file', tamperedFile, '--key', keyFile, '--json'],
        json.io,
      ),
    ).resolves.toBe(1);
    const report = JSON.parse(json.out.join('\n'));
    expect(report.verified).toBe(false);
    expect(
      report.executions.find((e: any) => e.executionId === second).firstBroken
        .position,
    ).toBe(2);

    // an entity without executions exports nothing; an existing export is never overwritten
    const empty = capture();
    const other = path.join(dir, 'other');
    await expect(
      runCli(
        [
          'export',
          '--from',
          started,
          '--to',
          to,
          '--entity',
          'component:default/other',
          ...asAlice(),
          '--out',
          other,
        ],
        empty.io,
      ),
    ).resolves.toBe(0);
    expect(empty.out).toEqual([
      `exported 0 bundle(s) of 0 execution(s) to ${other}`,
    ]);
    const again = capture();
    await expect(runCli(exportArgs, again.io)).resolves.toBe(2);
    expect(again.err[0]).toMatch(/--out .* is not empty/);
    expect(await fs.readFile(bundles, 'utf8')).toBe(`${lines.join('\n')}\n`);
  });

  it('exits 2 on usage errors, an unreachable backend, an unreadable key and a refused export', async () => {
    const to = new Date().toISOString();
    // a port nothing listens on
    const closed = net.createServer();
    await new Promise<void>(r => closed.listen(0, '127.0.0.1', r));
    const nowhere = `http://127.0.0.1:${
      (closed.address() as AddressInfo).port
    }`;
    await new Promise(r => closed.close(r));
    const notAKey = path.join(dir, 'not-a-key.pem');
    await fs.writeFile(notAKey, 'hello');
    const cases: Array<[string[], RegExp]> = [
      [['verify', executions[0].id, '--backend', url], /--key .* is required/],
      [['verify', executions[0].id, '--key', keyFile], /--backend is required/],
      [['verify', '--key', keyFile], /an execution id .* or --file/],
      [
        ['verify', 'a', 'b', '--backend', url, '--key', keyFile],
        /one execution id at a time/,
      ],
      [
        ['verify', '--file', 'x.jsonl', '--backend', url, '--key', keyFile],
        /--file takes no --backend/,
      ],
      [['verify', '--file', '--key', keyFile], /--file needs a value/],
      [['verify', 'x', '--bogus'], /unknown option --bogus/],
      [
        ['verify', 'x', '--backend', 'ftp://x', '--key', keyFile],
        /not an http\(s\) URL/,
      ],
      [
        ['verify', '--file', path.join(dir, 'missing.jsonl'), '--key', keyFile],
        /cannot read .*missing\.jsonl: ENOENT/,
      ],
      [
        ['verify', 'x', '--backend', url, '--key', path.join(dir, 'nope.pem')],
        /cannot read key .*nope\.pem: ENOENT/,
      ],
      [
        ['verify', '--file', keyFile, '--key', notAKey],
        /cannot use key .*not-a-key\.pem: not a PEM public key/,
      ],
      [
        ['verify', executions[0].id, '--backend', nowhere, '--key', keyFile],
        /cannot reach the backend at http:\/\/127\.0\.0\.1:\d+ .*ECONNREFUSED/,
      ],
      [
        ['verify', 'no-such-execution', ...asAlice(), '--key', keyFile],
        /answered 404/,
      ],
      [
        ['export', '--to', to, '--backend', url, '--out', path.join(dir, 'a')],
        /--from <ISO date> is required/,
      ],
      [
        [
          'export',
          '--from',
          'yesterday',
          '--to',
          to,
          '--backend',
          url,
          '--out',
          path.join(dir, 'a'),
        ],
        /--from yesterday is not an ISO 8601 date/,
      ],
      [
        [
          'export',
          '--from',
          to,
          '--to',
          to,
          '--backend',
          url,
          '--out',
          path.join(dir, 'a'),
        ],
        /--from .* must be before --to/,
      ],
      [
        ['export', '--from', started, '--to', to, '--backend', url],
        /--out is required/,
      ],
      [
        [
          'export',
          '--from',
          started,
          '--to',
          to,
          '--backend',
          url,
          '--out',
          keyFile,
        ],
        /exists and is not a directory/,
      ],
      [
        [
          'export',
          '--from',
          started,
          '--to',
          to,
          '--backend',
          url,
          '--token',
          'not-a-token',
          '--out',
          path.join(dir, 'refused'),
        ],
        /answered 401 Unauthorized: .*"name":"AuthenticationError"/,
      ],
    ];
    for (const [args, message] of cases) {
      const { out, err, io } = capture();
      await expect(runCli(args, io)).resolves.toBe(2);
      expect({ args, err: err[0] }).toEqual({
        args,
        err: expect.stringMatching(message),
      });
      expect(out).toEqual([]);
    }
    await expect(fs.stat(path.join(dir, 'refused'))).rejects.toThrow(/ENOENT/);
  });
});
