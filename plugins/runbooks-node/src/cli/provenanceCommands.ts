import {
  AUDIT_SUMMARY_COLUMNS,
  ProvenanceKeysResponse,
  ProvenanceReportResponse,
} from '@runbooks/plugin-runbooks-common';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  BundleVerifier,
  CHECKPOINT_PREDICATE_TYPE,
  executionIdOfBundle,
  ExportVerification,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_TYPE,
  STEP_PREDICATE_TYPE,
  TrustedKey,
  trustedKeyFromPem,
  verifyExecutionChain,
  verifyExportedBundles,
} from '../provenance';

/** Where the commands print. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** A command line that cannot be run as given: the caller prints it with the usage, exit 2. */
export class CliUsageError extends Error {}

/** Something outside the command line stops the command (backend, files): exit 2. */
export class CliFailure extends Error {}

/** Execution statuses an execution never leaves. */
const ENDED = ['succeeded', 'failed', 'cancelled'];

interface ParsedArgs {
  positionals: string[];
  values: Map<string, string[]>;
  flags: Set<string>;
}

function parseArgs(
  command: string,
  args: string[],
  spec: { values: string[]; flags: string[] },
): ParsedArgs {
  const parsed: ParsedArgs = {
    positionals: [],
    values: new Map(),
    flags: new Set(),
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      parsed.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (spec.values.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || value === '' || value.startsWith('--')) {
        throw new CliUsageError(`${command}: ${name} needs a value`);
      }
      parsed.values.set(name, [...(parsed.values.get(name) ?? []), value]);
    } else if (spec.flags.includes(name) && eq < 0) {
      parsed.flags.add(name);
    } else {
      throw new CliUsageError(`${command}: unknown option ${arg}`);
    }
  }
  return parsed;
}

function single(
  command: string,
  parsed: ParsedArgs,
  name: string,
): string | undefined {
  const values = parsed.values.get(name) ?? [];
  if (values.length > 1) {
    throw new CliUsageError(`${command}: ${name} given more than once`);
  }
  return values[0];
}

function required(command: string, parsed: ParsedArgs, name: string): string {
  const value = single(command, parsed, name);
  if (value === undefined) {
    throw new CliUsageError(`${command}: ${name} is required`);
  }
  return value;
}

/** The backend's base URL, without a trailing slash. */
function backendUrl(command: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliUsageError(`${command}: --backend ${value} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliUsageError(
      `${command}: --backend ${value} is not an http(s) URL`,
    );
  }
  return value.replace(/\/+$/, '');
}

/** GETs a path of the runbooks API and resolves to the body; unreachable or non-2xx fails. */
async function get(
  backend: string,
  apiPath: string,
  token: string | undefined,
): Promise<string> {
  const url = `${backend}/api/runbooks${apiPath}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliFailure(
      `cannot reach the backend at ${backend} (GET ${url}): ${
        cause?.code ?? cause?.message ?? (e as Error).message
      }`,
    );
  }
  const body = await res.text();
  if (!res.ok) {
    const shown = body.length > 2000 ? `${body.slice(0, 2000)}…` : body;
    throw new CliFailure(
      `GET ${url} answered ${res.status} ${res.statusText}: ${
        shown.trim() || '(empty body)'
      }`,
    );
  }
  return body;
}

/** The trusted keys from PEM files; a file that is not a P-256 public key fails. */
async function readKeys(files: string[]): Promise<TrustedKey[]> {
  const keys = new Map<string, TrustedKey>();
  for (const file of files) {
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (e) {
      throw new CliFailure(
        `cannot read key ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    try {
      const key = trustedKeyFromPem(pem);
      keys.set(key.hint, key);
    } catch (e) {
      throw new CliFailure(`cannot use key ${file}: ${(e as Error).message}`);
    }
  }
  return [...keys.values()];
}

/** The non-empty lines of a JSONL text, each parsed (an unparsable line stays a string). */
function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => {
      try {
        return JSON.parse(line);
      } catch {
        return line;
      }
    });
}

const SIGNATURE_LABELS = {
  valid: 'valid',
  invalid: 'invalid',
  'untrusted-key': 'untrusted key',
} as const;

type Entry = ProvenanceReportResponse['entries'][number];

/** What a statement records, for people: steps numbered from 1 as everywhere else. */
function describeEntry(entry: Entry): string {
  if (entry.kind === 'checkpoint') return 'checkpoint';
  if (entry.kind !== 'step' || entry.stepIndex === undefined) {
    return 'unknown statement';
  }
  const attempt =
    entry.attempt !== undefined && entry.attempt > 1
      ? ` attempt ${entry.attempt}`
      : '';
  return `step ${entry.stepIndex + 1} '${entry.stepId}'${attempt}${
    entry.dryRun ? ' (dry-run)' : ''
  }`;
}

/** The closing line of an execution's report. */
export function verdictLine(report: ProvenanceReportResponse): string {
  switch (report.status) {
    case 'verified':
      return `verified: ${report.statements} statement(s), chain intact, checkpoint matches`;
    case 'open':
      return `open: ${report.statements} statement(s), chain intact so far; the execution has not ended, so no checkpoint closes it yet`;
    case 'unsigned':
      return 'unsigned: the execution has no signed statement';
    default: {
      const broken = report.firstBroken;
      if (!broken) return `${report.status}: no link names the problem`;
      const entry = report.entries.find(e => e.position === broken.position);
      let what = '';
      if (broken.stepIndex !== undefined) {
        what = ` (step ${broken.stepIndex + 1} '${broken.stepId}')`;
      } else if (entry) {
        what = ` (${describeEntry(entry)})`;
      }
      return `first broken link: statement ${broken.position}${what}: ${broken.problem}`;
    }
  }
}

/** Prints one execution's report: a header line, a line per statement and the verdict. */
function printReport(
  io: CliIo,
  report: ProvenanceReportResponse,
  executionStatus?: string,
) {
  io.out(
    `execution ${report.executionId}${
      executionStatus ? ` (${executionStatus})` : ''
    }: ${report.status}, ${report.statements} statement(s), checkpoint ${
      report.checkpoint
    }`,
  );
  const described = report.entries.map(describeEntry);
  const width = Math.max(0, ...described.map(d => d.length));
  const positions = String(report.entries.length).length;
  const signatures = report.entries.map(
    e => `signature ${SIGNATURE_LABELS[e.signature]}`,
  );
  const signatureWidth = Math.max(0, ...signatures.map(s => s.length));
  report.entries.forEach((entry, i) => {
    const signature = signatures[i];
    io.out(
      `  ${String(entry.position).padStart(positions)}. ${described[i].padEnd(
        width,
      )}  ${signature.padEnd(signatureWidth)}  chain ${entry.chain.padEnd(6)}${
        entry.problems.length > 0 ? `  ${entry.problems.join('; ')}` : ''
      }`.trimEnd(),
    );
  });
  io.out(verdictLine(report));
}

/**
 * `runbooks verify`: verifies an execution's signed statements (fetched from a backend) or an
 * exported JSONL file locally, with the given public keys only. Resolves to the exit code.
 */
export async function verifyCommand(
  args: string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const parsed = parseArgs('verify', args, {
    values: ['--backend', '--token', '--key', '--file'],
    flags: ['--json'],
  });
  const file = single('verify', parsed, '--file');
  const keyFiles = parsed.values.get('--key') ?? [];
  const json = parsed.flags.has('--json');
  if (keyFiles.length === 0) {
    throw new CliUsageError(
      'verify: --key <public.pem> is required (the public key(s) to trust, obtained out of band)',
    );
  }
  if (file !== undefined) {
    if (parsed.positionals.length > 0) {
      throw new CliUsageError(
        'verify: give either an execution id or --file, not both',
      );
    }
    for (const option of ['--backend', '--token']) {
      if (parsed.values.has(option)) {
        throw new CliUsageError(`verify: --file takes no ${option}`);
      }
    }
    const keys = await readKeys(keyFiles);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new CliFailure(
        `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    const result = verifyExportedBundles(text, new BundleVerifier(keys));
    if (json) {
      io.out(JSON.stringify(result, null, 2));
    } else {
      printExport(io, result);
    }
    return result.verified ? 0 : 1;
  }

  if (parsed.positionals.length !== 1) {
    throw new CliUsageError(
      parsed.positionals.length === 0
        ? 'verify: an execution id (with --backend) or --file <bundles.jsonl> is required'
        : `verify: one execution id at a time (got ${parsed.positionals.join(
            ' ',
          )})`,
    );
  }
  const [executionId] = parsed.positionals;
  const backend = backendUrl('verify', required('verify', parsed, '--backend'));
  const token = single('verify', parsed, '--token') ?? env.RUNBOOKS_TOKEN;
  const keys = await readKeys(keyFiles);
  const id = encodeURIComponent(executionId);
  const [bundlesText, detailsText] = await Promise.all([
    get(backend, `/executions/${id}/bundles`, token),
    get(backend, `/executions/${id}`, token),
  ]);
  let status: string | undefined;
  try {
    status = JSON.parse(detailsText).execution.status;
  } catch {
    throw new CliFailure(
      `the backend's answer for execution ${executionId} is not an execution`,
    );
  }
  const report = verifyExecutionChain(
    executionId,
    jsonLines(bundlesText),
    new BundleVerifier(keys),
    { finished: ENDED.includes(status ?? '') },
  );
  if (json) {
    io.out(JSON.stringify({ ...report, executionStatus: status }, null, 2));
  } else {
    printReport(io, report, status);
  }
  return report.status === 'verified' ? 0 : 1;
}

function printExport(io: CliIo, result: ExportVerification) {
  result.executions.forEach((report, i) => {
    if (i > 0) io.out('');
    printReport(io, report);
  });
  if (result.executions.length > 0) io.out('');
  for (const problem of result.problems) {
    io.out(`line ${problem.line}: ${problem.problem}`);
  }
  const statements = result.executions.reduce((n, e) => n + e.statements, 0);
  if (result.verified) {
    io.out(
      `verified: ${result.executions.length} execution(s), ${statements} statement(s), every chain intact and closed by a matching checkpoint`,
    );
    return;
  }
  if (result.executions.length === 0 && result.problems.length === 0) {
    io.out('not verified: the file holds no bundle');
    return;
  }
  const broken = result.executions.filter(e => e.status !== 'verified');
  const first = broken[0];
  io.out(
    `not verified: ${broken.length} of ${
      result.executions.length
    } execution(s) do not verify${
      result.problems.length > 0
        ? `, ${result.problems.length} problem(s) in the file`
        : ''
    }${
      first?.firstBroken
        ? ` (first: execution ${first.executionId}, statement ${first.firstBroken.position})`
        : ''
    }`,
  );
}

/** A date given as ISO 8601 (a date or a date and time). */
function isoDate(option: string, value: string | undefined): Date {
  if (value === undefined) {
    throw new CliUsageError(`export: ${option} <ISO date> is required`);
  }
  const date = new Date(value);
  if (
    !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(
      value,
    ) ||
    Number.isNaN(date.getTime())
  ) {
    throw new CliUsageError(
      `export: ${option} ${value} is not an ISO 8601 date (e.g. 2025-01-31 or 2025-01-31T12:00:00Z)`,
    );
  }
  return date;
}

/** Counts the records of a CSV text (RFC 4180: quoted cells may hold line breaks). */
function csvRecords(text: string): number {
  let records = 0;
  let quoted = false;
  let content = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (char === '\n' && !quoted) {
      if (content) records++;
      content = false;
    } else if (char !== '\r') {
      content = true;
    }
  }
  return content ? records + 1 : records;
}

/**
 * `runbooks export`: writes the signed statements of the executions that ended in a period, their
 * summary, the backend's public keys and a README for the auditor into a new directory.
 */
export async function exportCommand(
  args: string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const parsed = parseArgs('export', args, {
    values: ['--from', '--to', '--entity', '--backend', '--token', '--out'],
    flags: [],
  });
  if (parsed.positionals.length > 0) {
    throw new CliUsageError(
      `export: unexpected argument(s) ${parsed.positionals.join(' ')}`,
    );
  }
  const from = isoDate('--from', single('export', parsed, '--from'));
  const to = isoDate('--to', single('export', parsed, '--to'));
  if (from.getTime() >= to.getTime()) {
    throw new CliUsageError(
      `export: --from (${from.toISOString()}) must be before --to (${to.toISOString()})`,
    );
  }
  const entity = single('export', parsed, '--entity');
  const backend = backendUrl('export', required('export', parsed, '--backend'));
  const token = single('export', parsed, '--token') ?? env.RUNBOOKS_TOKEN;
  const out = required('export', parsed, '--out');
  const existing = await stat(out).catch(() => undefined);
  if (existing && !existing.isDirectory()) {
    throw new CliUsageError(
      `export: --out ${out} exists and is not a directory`,
    );
  }
  if (existing && (await readdir(out)).length > 0) {
    throw new CliUsageError(
      `export: --out ${out} is not empty; give a new or empty directory`,
    );
  }

  const query = new URLSearchParams({
    from: from.toISOString(),
    to: to.toISOString(),
    ...(entity ? { entityRef: entity } : {}),
  }).toString();
  const [bundles, summary, keysText] = await Promise.all([
    get(backend, `/audit/bundles?${query}`, token),
    get(backend, `/audit/summary?${query}`, token),
    get(backend, '/provenance/keys', token),
  ]);
  let keys: ProvenanceKeysResponse;
  try {
    keys = JSON.parse(keysText);
    if (!Array.isArray(keys.keys)) throw new Error('no keys');
  } catch {
    throw new CliFailure(
      `GET ${backend}/api/runbooks/provenance/keys did not answer a list of keys`,
    );
  }
  const keyFiles: Array<{ hint: string; pem: string; current: boolean }> = [];
  for (const key of keys.keys) {
    let computed: TrustedKey;
    try {
      computed = trustedKeyFromPem(key.publicKeyPem);
    } catch (e) {
      throw new CliFailure(
        `the backend's key ${key.hint} is not usable: ${(e as Error).message}`,
      );
    }
    if (computed.hint !== key.hint) {
      throw new CliFailure(
        `the backend names a key ${key.hint}, but its PEM has the hint ${computed.hint}`,
      );
    }
    keyFiles.push({
      hint: computed.hint,
      pem: computed.publicKeyPem,
      current: key.current,
    });
  }

  const lines = bundles.split('\n').filter(line => line.trim() !== '');
  const inBundles = new Set(
    lines.map(line => {
      try {
        return executionIdOfBundle(JSON.parse(line));
      } catch {
        return undefined;
      }
    }),
  );
  inBundles.delete(undefined);
  const executions = Math.max(0, csvRecords(summary) - 1);

  await mkdir(path.join(out, 'keys'), { recursive: true });
  await writeFile(path.join(out, 'bundles.jsonl'), bundles);
  await writeFile(path.join(out, 'summary.csv'), summary);
  for (const key of keyFiles) {
    await writeFile(path.join(out, 'keys', `${key.hint}.pem`), key.pem);
  }
  await writeFile(
    path.join(out, 'README.md'),
    readme({
      backend,
      from,
      to,
      entity,
      bundles: lines.length,
      executions,
      keys: keyFiles,
      keyless: keys.keyless === true,
    }),
  );
  if (inBundles.size < executions) {
    io.err(
      `${
        executions - inBundles.size
      } execution(s) of the summary have no signed statement (statements 0)`,
    );
  }
  io.out(
    `exported ${lines.length} bundle(s) of ${executions} execution(s) to ${out}`,
  );
  return 0;
}

function readme(info: {
  backend: string;
  from: Date;
  to: Date;
  entity?: string;
  bundles: number;
  executions: number;
  keys: Array<{ hint: string; current: boolean }>;
  keyless: boolean;
}): string {
  const firstKey = info.keys.find(k => k.current) ?? info.keys[0];
  const keyArg = `keys/${firstKey?.hint ?? '<hint>'}.pem`;
  const keyList =
    info.keys.length > 0
      ? info.keys
          .map(
            k =>
              `- \`keys/${k.hint}.pem\`${
                k.current ? ' (the key that signs now)' : ' (a retired key)'
              }`,
          )
          .join('\n')
      : '- none: the backend lists no public key.';
  return `# Runbooks audit export

Exported on ${new Date().toISOString()} from ${
    info.backend
  }: every execution that ended in
[${info.from.toISOString()}, ${info.to.toISOString()})${
    info.entity ? ` on the entity \`${info.entity}\`` : ''
  } and that the exporting user may read.
${info.bundles} signed statement(s) of ${info.executions} execution(s).

## Files

- \`bundles.jsonl\`: the signed statements, one Sigstore bundle (JSON) per line. Each execution's
  statements are on consecutive lines, in the order of its chain.
- \`summary.csv\`: one row per execution, with the columns
  ${AUDIT_SUMMARY_COLUMNS.map(c => `\`${c}\``).join(', ')}.
  It is not signed: it is an index to the statements, which are the evidence.
- \`keys/<hint>.pem\`: the public keys the backend lists as trusted, named by their hint (the
  lowercase hex SHA-256 of the key's DER SubjectPublicKeyInfo):
${keyList
  .split('\n')
  .map(l => `  ${l}`)
  .join('\n')}
- \`README.md\`: this file.

**The keys in \`keys/\` came from the same backend as the statements.** A party able to alter the
statements could have replaced them too. Before you rely on a verification, compare each hint with
the key hint published by the operators through another channel (obtained out of band), and
verify only with keys whose hint matches. To compute the hint of a PEM yourself:

\`\`\`sh
openssl pkey -pubin -in ${keyArg} -outform DER | sha256sum
\`\`\`
${
  info.keyless
    ? `
The backend signs keylessly (Fulcio certificates, Rekor): bundles carrying a certificate instead of a
key hint are not verified by the keys here; use \`cosign verify-blob-attestation\` or another
Sigstore verifier with the issuer and identity your operators publish.
`
    : ''
}
## Statement format

Every line is a [Sigstore bundle](https://github.com/sigstore/protobuf-specs) v0.3
(\`mediaType\` \`application/vnd.dev.sigstore.bundle.v0.3+json\`) whose
\`verificationMaterial.publicKey.hint\` names the signing key. Its \`dsseEnvelope\` is a
[DSSE](https://github.com/secure-systems-lab/dsse) envelope: \`payloadType\` is
\`${IN_TOTO_PAYLOAD_TYPE}\`, \`payload\` is the base64 of the statement's canonical JSON
(RFC 8785), and \`signatures[0]\` holds \`sig\` (base64 of a DER ECDSA P-256 / SHA-256 signature)
and \`keyid\` (the key hint).

The payload is an [in-toto Statement v1](https://github.com/in-toto/attestation) (\`_type\`
\`${IN_TOTO_STATEMENT_TYPE}\`) with one of two predicate types:

- \`${STEP_PREDICATE_TYPE}\`:
  one attempt of a step that ended (succeeded, failed, skipped, cancelled or stopped for
  attention; in a dry run, the plan only): the execution (id, mode), the runbook and its digest,
  the entity, the requester, the step (index from 0, id, attempt, whether it mutates, whether it was a dry run),
  the tool, the approvals, the status and times, and SHA-256 digests of the input, plan, before and
  after states and output (never the values, so secrets cannot leak). Its subject is
  \`runbooks:execution/<id>/step/<index>/<step id>/attempt/<attempt>\`, digested over the stored step
  record.
- \`${CHECKPOINT_PREDICATE_TYPE}\`:
  closes an execution's chain when it ended: its final status, \`count\` (how many statements precede the checkpoint) and \`headDigest\` (the digest of
  the last of them). Its subject is \`runbooks:execution/<id>\`.

**The hash chain.** Within an execution, \`predicate.sequence\` numbers the statements from 1 and
\`predicate.previousStatementDigest\` is the lowercase hex SHA-256 of the previous statement's
payload bytes (the decoded DSSE payload), \`null\` for the first. The checkpoint's \`count\` equals
the number of statements before it and its \`headDigest\` equals its \`previousStatementDigest\`. A
deleted, inserted, reordered or altered statement breaks the chain; a cut-off tail shows as a
missing checkpoint.

## How to verify

With the runbooks CLI (it trusts only the keys you give it):

\`\`\`sh
runbooks verify --file bundles.jsonl --key ${keyArg}
\`\`\`

(repeat \`--key\` for every key whose hint you have checked; \`--json\` prints the full reports).
It exits 0 when every statement is signed by one of the keys, every chain is intact and every
execution is closed by a matching checkpoint, and otherwise names the first broken link of each
execution.

Independently, with any DSSE verifier, for every line: decode \`payload\` from base64, build the
pre-authentication encoding (PAE)

    "DSSEv1" SP LEN(payloadType) SP payloadType SP LEN(payload) SP payload

(LEN as ASCII decimal byte count, SP one space, payload the decoded bytes) and verify
\`signatures[0].sig\` (base64 of a DER signature) over it with the key, ECDSA P-256 with SHA-256.
For example python's securesystemslib computes the PAE with \`securesystemslib.dsse.Envelope.pae()\`
and verifies with an \`ecdsa-sha2-nistp256\` key; or, with nothing but the \`cryptography\` package:

\`\`\`python
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

key = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
previous = {}
for number, line in enumerate(open("bundles.jsonl"), 1):
    envelope = json.loads(line)["dsseEnvelope"]
    payload = base64.b64decode(envelope["payload"])
    kind = envelope["payloadType"].encode()
    pae = b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)
    signature = base64.b64decode(envelope["signatures"][0]["sig"])
    key.verify(signature, pae, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature
    predicate = json.loads(payload)["predicate"]
    execution = predicate["execution"]["id"]
    assert predicate["previousStatementDigest"] == previous.get(execution), number
    previous[execution] = hashlib.sha256(payload).hexdigest()
    print(number, execution, predicate["sequence"], "ok")
\`\`\`

Saved as \`verify.py\` and run as \`python3 verify.py ${keyArg}\` next to
\`bundles.jsonl\`, it checks every signature and chain link; \`runbooks verify\` also checks
sequences, subjects and checkpoints.
`;
}
