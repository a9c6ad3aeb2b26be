import fs from 'node:fs';
import path from 'node:path';

/** The repository root, when this package runs inside the monorepo (the demo needs its files). */
// eslint-disable-next-line no-restricted-syntax
const repoRoot = path.resolve(__dirname, '../../..');

/**
 * The local portal's demo targets: a copy of `examples/targets/<kind>` under the git-ignored
 * `data/demo-targets/`, made on first use so the demo can change it freely. Delete the folder to
 * start the demo afresh.
 * @public
 */
export function prepareDemoTargets(kind: 'terraform' | 'ansible'): {
  dir: string;
  created: boolean;
} {
  const source = path.join(repoRoot, 'examples/targets', kind);
  const dir = path.join(repoRoot, 'data/demo-targets', kind);
  if (!fs.existsSync(source)) {
    throw new Error(
      `--demo needs the repository's examples/targets/${kind} (not found at ${source})`,
    );
  }
  if (fs.existsSync(dir)) return { dir, created: false };
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.cpSync(source, dir, {
    recursive: true,
    filter: src => !/(^|\/)(\.terraform|terraform\.tfstate.*)$/.test(src),
  });
  return { dir, created: true };
}
