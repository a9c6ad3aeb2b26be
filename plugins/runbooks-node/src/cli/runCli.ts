import { runbookEntityJsonSchema } from '@runbooks/plugin-runbooks-common';
import { formatProblem, validateRunbookFiles } from '../files';

const USAGE = `Usage:
  runbooks validate <file|dir>...   Validates runbooks (kind: Runbook) in YAML files and
                                    directories; prints every problem as path:line:col: message
                                    and exits 1 if there is any.
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
    const report = await validateRunbookFiles(args);
    for (const problem of report.problems) {
      io.out(formatProblem(problem));
    }
    const files = report.files.length;
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
