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
                                    (yaml-language-server) and other tools.`;

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
