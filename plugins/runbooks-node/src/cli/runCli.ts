import { ConfigSources } from '@backstage/config-loader';
import { runbookEntityJsonSchema } from '@runbooks/plugin-runbooks-common';
import {
  formatProblem,
  RunbookFileProblem,
  RunbookFilesReport,
  validateRunbookFiles,
} from '../files';
import {
  checkRunbookTools,
  McpToolPool,
  readMcpToolsConfig,
  ToolInputValidator,
} from '../tools';
import {
  CliFailure,
  CliIo,
  CliUsageError,
  exportCommand,
  verifyCommand,
} from './provenanceCommands';

const USAGE = `Usage:
  runbooks validate <file|dir>...   Validates runbooks (kind: Runbook) in YAML files and
                                    directories; prints every problem as path:line:col: message
                                    and exits 1 if there is any.
      --tools                       Also starts the MCP tool servers of runbooks.tools.servers
                                    (from app-config.yaml in the working directory, or the files
                                    given with --config) and checks each step's tool name, its
                                    read-only / dry-run declaration and its literal input against
                                    the tool's input schema.
      --config <file>               A config file for --tools (repeatable).
  runbooks schema                   Prints the JSON Schema of the Runbook kind, for editors
                                    (yaml-language-server) and other tools.
  runbooks verify <execution-id>    Verifies an execution's signed statements locally: fetches its
      --backend <url>               bundles from the backend and checks each signature against the
      --key <public.pem>            given public keys only (repeat --key for retired keys), the hash
      [--token <t>] [--json]        chain and, once the execution ended, its checkpoint. Prints a
                                    line per statement (steps numbered from 1) and the first broken
                                    link; exits 0 when everything verifies, 1 when not.
  runbooks verify --file <bundles.jsonl> --key <public.pem> [--key ...] [--json]
                                    The same for an exported file: every execution in it must
                                    verify and be closed by a matching checkpoint.
  runbooks export --from <ISO date> --to <ISO date> --backend <url> --out <dir>
      [--entity <ref>] [--token <t>]
                                    Writes the audit export of the executions that ended in
                                    [from, to) into a new or empty <dir>: bundles.jsonl (signed
                                    statements), summary.csv, keys/<hint>.pem (the backend's public
                                    keys: compare the hints with the published one) and README.md
                                    (formats and how to verify independently).
      --token <t>                   Bearer token for the backend (default: env RUNBOOKS_TOKEN).
  Exit codes: 0 success, 1 problems found, 2 usage error or the backend, a key or a file cannot be
  used.`;

/**
 * The `runbooks` command line. Resolves to the exit code it set.
 * @public
 */
export async function runCli(
  argv: string[],
  io: { out: (line: string) => void; err: (line: string) => void } = {
    out: line => process.stdout.write(`${line}\n`),
    err: line => process.stderr.write(`${line}\n`),
  },
): Promise<number> {
  const [command, ...args] = argv;
  let code: number;
  if (command === 'validate' && args.length > 0 && !args.includes('--help')) {
    const { paths, tools, configs } = parseValidateArgs(args);
    const report = await validateRunbookFiles(paths);
    if (tools) {
      const problems = await checkTools(report, configs, io);
      report.problems.push(...problems);
    }
    for (const problem of report.problems) {
      io.out(formatProblem(problem));
    }
    const files = report.files.length;
    if (tools && report.problems.length === 0) {
      io.err('every step names a configured tool and passes input it accepts');
    }
    io.err(
      `${report.runbooks.length} valid runbook(s) in ${files} file(s), ${report.problems.length} problem(s)`,
    );
    code = report.problems.length > 0 || files === 0 ? 1 : 0;
    if (files === 0 && report.problems.length === 0) {
      io.err('no YAML files found');
    }
  } else if (
    (command === 'verify' || command === 'export') &&
    !args.includes('--help')
  ) {
    code = await runProvenanceCommand(command, args, io);
  } else if (command === 'schema' && args.length === 0) {
    io.out(JSON.stringify(runbookEntityJsonSchema(), null, 2));
    code = 0;
  } else if (
    command === undefined ||
    command === '--help' ||
    command === 'help' ||
    args.includes('--help')
  ) {
    io.out(USAGE);
    code = command === undefined ? 2 : 0;
  } else {
    io.err(`runbooks: unknown command or missing arguments: ${argv.join(' ')}`);
    io.err(USAGE);
    code = 2;
  }
  process.exitCode = code;
  return code;
}

async function runProvenanceCommand(
  command: 'verify' | 'export',
  args: string[],
  io: CliIo,
): Promise<number> {
  try {
    return command === 'verify'
      ? await verifyCommand(args, io)
      : await exportCommand(args, io);
  } catch (e) {
    if (e instanceof CliUsageError) {
      io.err(`runbooks ${e.message}`);
      io.err(USAGE);
      return 2;
    }
    if (e instanceof CliFailure) {
      io.err(`runbooks ${command}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

function parseValidateArgs(args: string[]) {
  const paths: string[] = [];
  const configs: string[] = [];
  let tools = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--tools') tools = true;
    else if (args[i] === '--config') configs.push(args[++i]);
    else paths.push(args[i]);
  }
  return { paths, tools, configs };
}

/** Checks the runbooks of a report against the configured MCP tool servers. */
async function checkTools(
  report: RunbookFilesReport,
  configFiles: string[],
  io: { err: (line: string) => void },
): Promise<RunbookFileProblem[]> {
  const source = ConfigSources.default({
    rootDir: process.cwd(),
    argv: configFiles.flatMap(c => ['--config', c]),
  });
  const config = await ConfigSources.toConfig(source);
  const { servers, settings } = readMcpToolsConfig(config);
  config.close();
  if (servers.length === 0) {
    return [
      {
        file: 'app-config.yaml',
        line: 1,
        col: 1,
        message: '--tools: no servers configured under runbooks.tools.servers',
      },
    ];
  }
  const quiet = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: () => {},
    child: () => quiet,
  };
  const pool = new McpToolPool(servers, settings, quiet);
  const problems: RunbookFileProblem[] = [];
  try {
    const listed = await pool.listTools();
    io.err(
      `--tools: ${listed.tools.length} tool(s) from ${
        servers.length - listed.failures.length
      } of ${servers.length} server(s)`,
    );
    const validator = new ToolInputValidator();
    for (const { file, runbook, locate } of report.runbooks) {
      const found = await checkRunbookTools(runbook, pool, { validator });
      for (const problem of found) {
        const index = runbook.spec.steps.findIndex(
          s => s.id === problem.stepId,
        );
        const field = /input/.test(problem.message) ? 'input' : 'tool';
        problems.push({
          file,
          ...locate(['spec', 'steps', index, field]),
          message: `spec.steps[${index}] (${problem.stepId}): ${problem.message}`,
        });
      }
    }
  } finally {
    await pool.close();
  }
  return problems;
}
