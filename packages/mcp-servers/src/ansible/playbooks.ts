import fs from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from '../contract';

/**
 * The name of a playbook as tools take it: `purge-queue` is `<root>/purge-queue.yml` (or `.yaml`).
 * @public
 */
export const PLAYBOOK_NAME_PATTERN = /^[a-z0-9][a-z0-9-_]*$/;

/**
 * The folder of a root whose playbooks `gather` may run: they are reviewed as read-only.
 * @public
 */
export const READ_ONLY_FOLDER = 'read-only';

async function realpathOrUndefined(file: string) {
  try {
    return await fs.realpath(file);
  } catch {
    return undefined;
  }
}

function isInside(dir: string, file: string) {
  const relative = path.relative(dir, file);
  return (
    relative !== '' &&
    !relative.startsWith(`..${path.sep}`) &&
    relative !== '..' &&
    !path.isAbsolute(relative)
  );
}

/**
 * Finds a playbook by name in the first root that has it, in the root itself or (`readOnly`) in its
 * `read-only/` folder. Returns the real path; a name that is not a plain name, a missing playbook and a
 * symlink that leads out of its folder are refused.
 * @public
 */
export async function resolvePlaybook(
  roots: string[],
  name: string,
  options: { readOnly: boolean },
): Promise<string> {
  if (!PLAYBOOK_NAME_PATTERN.test(name)) {
    throw new ToolError(
      `playbook '${name}' is not a playbook name (lowercase letters, digits, - and _)`,
    );
  }
  for (const root of roots) {
    const dir = options.readOnly ? path.join(root, READ_ONLY_FOLDER) : root;
    const realDir = await realpathOrUndefined(dir);
    if (!realDir) continue;
    for (const extension of ['.yml', '.yaml']) {
      const real = await realpathOrUndefined(
        path.join(dir, `${name}${extension}`),
      );
      if (!real) continue;
      if (!isInside(realDir, real)) {
        throw new ToolError(
          `playbook '${name}' resolves outside its folder; refusing to run it`,
        );
      }
      if (!(await fs.stat(real)).isFile()) continue;
      return real;
    }
  }
  throw new ToolError(
    options.readOnly
      ? `unknown read-only playbook '${name}': no ${READ_ONLY_FOLDER}/${name}.yml or .yaml in the configured roots`
      : `unknown playbook '${name}': no ${name}.yml or .yaml in the configured roots`,
  );
}
