import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  parseRunbookYaml,
  RunbookEntityV1alpha1,
} from '@runbooks/plugin-runbooks-common';

/**
 * A problem in a runbook file, located for a terminal or an editor.
 * @public
 */
export interface RunbookFileProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/**
 * The outcome of validating runbook files.
 * @public
 */
export interface RunbookFilesReport {
  files: string[];
  runbooks: Array<{
    file: string;
    runbook: RunbookEntityV1alpha1;
    /** The line and column of a field of the runbook, by its path. */
    locate(path: Array<string | number>): { line: number; col: number };
  }>;
  problems: RunbookFileProblem[];
}

const YAML_FILE = /\.ya?ml$/i;

/**
 * Expands files and directories (recursively) into the YAML files they hold, sorted.
 * A path that does not exist is reported as a problem rather than thrown.
 * @public
 */
export async function findRunbookFiles(
  paths: string[],
): Promise<{ files: string[]; problems: RunbookFileProblem[] }> {
  const files: string[] = [];
  const problems: RunbookFileProblem[] = [];
  const walk = async (p: string) => {
    const entries = await fs.readdir(p, { withFileTypes: true });
    for (const entry of entries) {
      const child = path.join(p, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) {
          await walk(child);
        }
      } else if (YAML_FILE.test(entry.name)) {
        files.push(child);
      }
    }
  };
  for (const p of paths) {
    let stat;
    try {
      stat = await fs.stat(p);
    } catch {
      problems.push({
        file: p,
        line: 1,
        col: 1,
        message: 'no such file or directory',
      });
      continue;
    }
    if (stat.isDirectory()) {
      await walk(p);
    } else {
      files.push(p);
    }
  }
  return { files: [...new Set(files)].sort(), problems };
}

/**
 * Validates every runbook in the given files and directories.
 * @public
 */
export async function validateRunbookFiles(
  paths: string[],
): Promise<RunbookFilesReport> {
  const found = await findRunbookFiles(paths);
  const report: RunbookFilesReport = {
    files: found.files,
    runbooks: [],
    problems: [...found.problems],
  };
  for (const file of found.files) {
    const text = await fs.readFile(file, 'utf8');
    const result = parseRunbookYaml(text);
    result.runbooks.forEach((runbook, i) => {
      report.runbooks.push({ file, runbook, locate: result.locators[i] });
    });
    for (const issue of result.issues) {
      report.problems.push({ file, ...issue });
    }
  }
  return report;
}

/**
 * Formats a problem as `path:line:col: message`, the form editors and CI annotate.
 * @public
 */
export function formatProblem(problem: RunbookFileProblem): string {
  return `${problem.file}:${problem.line}:${problem.col}: ${problem.message}`;
}
