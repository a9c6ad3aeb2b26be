import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolvePlaybook } from './playbooks';

describe('resolvePlaybook', () => {
  let base: string;
  let first: string;
  let second: string;

  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'ansible-playbooks-'));
    first = path.join(base, 'first');
    second = path.join(base, 'second');
    fs.mkdirSync(path.join(first, 'read-only'), { recursive: true });
    fs.mkdirSync(path.join(second, 'read-only'), { recursive: true });
    fs.writeFileSync(path.join(first, 'both.yml'), '[]');
    fs.writeFileSync(path.join(second, 'both.yml'), '[]');
    fs.writeFileSync(path.join(second, 'long-name.yaml'), '[]');
    fs.writeFileSync(path.join(second, 'read-only', 'look.yml'), '[]');
    fs.mkdirSync(path.join(first, 'folder.yml'));
    fs.writeFileSync(path.join(base, 'outside.yml'), '[]');
    fs.symlinkSync(path.join(base, 'outside.yml'), path.join(first, 'out.yml'));
    fs.symlinkSync(path.join(first, 'both.yml'), path.join(first, 'alias.yml'));
  });

  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  const resolve = (name: string, readOnly = false) =>
    resolvePlaybook([first, second], name, { readOnly });

  it('takes the first root that has the playbook, as .yml or .yaml', async () => {
    await expect(resolve('both')).resolves.toBe(
      fs.realpathSync(path.join(first, 'both.yml')),
    );
    await expect(resolve('long-name')).resolves.toBe(
      fs.realpathSync(path.join(second, 'long-name.yaml')),
    );
  });

  it('follows a symlink that stays inside the root', async () => {
    await expect(resolve('alias')).resolves.toBe(
      fs.realpathSync(path.join(first, 'both.yml')),
    );
  });

  it('looks only in read-only/ for read-only playbooks, and only there', async () => {
    await expect(resolve('look', true)).resolves.toBe(
      fs.realpathSync(path.join(second, 'read-only', 'look.yml')),
    );
    await expect(resolve('look')).rejects.toThrow(/unknown playbook 'look'/);
    await expect(resolve('both', true)).rejects.toThrow(
      /unknown read-only playbook 'both'/,
    );
  });

  it('refuses names that are paths or flags, symlinks out of the root and folders', async () => {
    for (const name of [
      '../outside',
      'read-only/look',
      '-x',
      'Both',
      '',
      '.hidden',
    ]) {
      await expect(resolve(name)).rejects.toThrow(/is not a playbook name/);
    }
    await expect(resolve('out')).rejects.toThrow(/resolves outside its folder/);
    await expect(resolve('folder')).rejects.toThrow(
      /unknown playbook 'folder'/,
    );
  });
});
