import fs from 'node:fs';
import path from 'node:path';
import { ToolError } from '../contract';

/** A workspace name: path segments under a root, each starting with a letter, digit or `_`. */
export const WORKSPACE_NAME =
  /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

/** How deep below a root the listing of known workspaces looks. */
const LIST_DEPTH = 3;

/**
 * A Terraform working directory that a name resolved to, inside one of the roots.
 * @public
 */
export interface TerraformWorkspace {
  /** The name it is addressed by, relative to its root. */
  name: string;
  /** The real path of the directory (symlinks resolved). */
  dir: string;
}

function isInside(root: string, candidate: string) {
  const relative = path.relative(root, candidate);
  return (
    relative !== '' &&
    !relative.startsWith(`..${path.sep}`) &&
    relative !== '..' &&
    !path.isAbsolute(relative)
  );
}

function hasTerraformFiles(dir: string) {
  try {
    return fs
      .readdirSync(dir)
      .some(file => file.endsWith('.tf') || file.endsWith('.tf.json'));
  } catch {
    return false;
  }
}

/**
 * The Terraform working directories under the configured roots, addressed by name and confined
 * to their root: no absolute paths, no `..`, no symlink that leads out.
 * @public
 */
export class TerraformWorkspaces {
  private readonly roots: string[];

  /** Throws when a root is not an existing directory: a configuration error, not a tool error. */
  constructor(roots: string[]) {
    if (roots.length === 0) {
      throw new Error('the Terraform server needs at least one root directory');
    }
    this.roots = roots.map(root => {
      const real = fs.realpathSync(path.resolve(root));
      if (!fs.statSync(real).isDirectory()) {
        throw new Error(`Terraform root ${root} is not a directory`);
      }
      return real;
    });
  }

  /** The names of all workspaces found up to three levels below the roots, sorted. */
  list(): string[] {
    const names = new Set<string>();
    const walk = (root: string, dir: string, depth: number) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.') || entry.name === 'node_modules') {
          continue;
        }
        const child = path.join(dir, entry.name);
        if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
        let real: string;
        try {
          real = fs.realpathSync(child);
          if (!fs.statSync(real).isDirectory()) continue;
        } catch {
          continue;
        }
        if (!isInside(root, real)) continue;
        if (hasTerraformFiles(real)) {
          names.add(path.relative(root, child).split(path.sep).join('/'));
        }
        if (depth < LIST_DEPTH && entry.isDirectory()) {
          walk(root, child, depth + 1);
        }
      }
    };
    for (const root of this.roots) walk(root, root, 1);
    return [...names].sort();
  }

  /** The workspace of that name in the first root that has it; a ToolError otherwise. */
  resolve(name: string): TerraformWorkspace {
    const segments = name.split('/');
    if (
      !WORKSPACE_NAME.test(name) ||
      path.isAbsolute(name) ||
      segments.includes('..')
    ) {
      throw new ToolError(
        `workspace '${name}' is not a workspace name (letters, digits, _ . - in segments separated by /; no absolute path, no ..)`,
      );
    }
    let escaped = false;
    for (const root of this.roots) {
      let real: string;
      try {
        real = fs.realpathSync(path.join(root, ...segments));
      } catch {
        continue;
      }
      if (!isInside(root, real)) {
        escaped = true;
        continue;
      }
      if (fs.statSync(real).isDirectory() && hasTerraformFiles(real)) {
        return { name, dir: real };
      }
    }
    const known = this.list();
    const knownText = known.length ? known.join(', ') : '(none)';
    throw new ToolError(
      escaped
        ? `workspace '${name}' leads outside its Terraform root; known workspaces: ${knownText}`
        : `unknown workspace '${name}'; known workspaces: ${knownText}`,
    );
  }
}
