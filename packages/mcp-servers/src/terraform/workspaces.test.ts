import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ToolError } from '../contract';
import { TerraformWorkspaces } from './workspaces';

describe('TerraformWorkspaces', () => {
  let base: string;
  let root: string;

  const workspace = (relative: string) => {
    fs.mkdirSync(path.join(root, relative), { recursive: true });
    fs.writeFileSync(path.join(root, relative, 'main.tf'), '');
  };

  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-ws-'));
    root = path.join(base, 'root');
    workspace('orders-db');
    workspace('team-a/cache');
    workspace('a/b/c');
    workspace('a/b/c/too-deep');
    workspace('.hidden');
    fs.mkdirSync(path.join(root, 'no-tf-files'));
    fs.mkdirSync(path.join(base, 'outside'));
    fs.writeFileSync(path.join(base, 'outside', 'main.tf'), '');
  });

  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  it('lists the directories with Terraform files up to three levels down', () => {
    fs.symlinkSync(path.join(root, 'orders-db'), path.join(root, 'alias'));
    fs.symlinkSync(path.join(base, 'outside'), path.join(root, 'escape'));
    expect(new TerraformWorkspaces([root]).list()).toEqual([
      'a/b/c',
      'alias',
      'orders-db',
      'team-a/cache',
    ]);
  });

  it('resolves names directly and nested under a root to their real directory', () => {
    const workspaces = new TerraformWorkspaces([root]);
    expect(workspaces.resolve('orders-db')).toEqual({
      name: 'orders-db',
      dir: fs.realpathSync(path.join(root, 'orders-db')),
    });
    expect(workspaces.resolve('team-a/cache').dir).toBe(
      fs.realpathSync(path.join(root, 'team-a', 'cache')),
    );
    fs.symlinkSync(path.join(root, 'orders-db'), path.join(root, 'alias'));
    expect(workspaces.resolve('alias').dir).toBe(
      fs.realpathSync(path.join(root, 'orders-db')),
    );
  });

  it('looks through the roots in order', () => {
    const second = path.join(base, 'second');
    fs.mkdirSync(path.join(second, 'orders-db'), { recursive: true });
    fs.writeFileSync(path.join(second, 'orders-db', 'main.tf'), '');
    fs.mkdirSync(path.join(second, 'only-here'));
    fs.writeFileSync(path.join(second, 'only-here', 'main.tf'), '');
    const workspaces = new TerraformWorkspaces([root, second]);
    expect(workspaces.resolve('orders-db').dir).toBe(
      fs.realpathSync(path.join(root, 'orders-db')),
    );
    expect(workspaces.resolve('only-here').dir).toBe(
      fs.realpathSync(path.join(second, 'only-here')),
    );
  });

  it.each([
    ['..', /not a workspace name/],
    ['../outside', /not a workspace name/],
    ['orders-db/../../outside', /not a workspace name/],
    ['/etc', /not a workspace name/],
    ['-chdir=/', /not a workspace name/],
    ['.hidden', /not a workspace name/],
    ['orders-db/', /not a workspace name/],
    ['', /not a workspace name/],
    ['no-tf-files', /^unknown workspace 'no-tf-files'; known workspaces: /],
    ['missing', /^unknown workspace 'missing'; known workspaces: a\/b\/c, /],
  ])('rejects %j', (name, message) => {
    const workspaces = new TerraformWorkspaces([root]);
    expect(() => workspaces.resolve(name)).toThrow(ToolError);
    expect(() => workspaces.resolve(name)).toThrow(message);
  });

  it('rejects a symlink out of the root, also one deeper down', () => {
    fs.symlinkSync(path.join(base, 'outside'), path.join(root, 'escape'));
    fs.symlinkSync(base, path.join(root, 'team-a', 'up'));
    const workspaces = new TerraformWorkspaces([root]);
    expect(() => workspaces.resolve('escape')).toThrow(
      "workspace 'escape' leads outside its Terraform root; known workspaces: a/b/c, orders-db, team-a/cache",
    );
    expect(() => workspaces.resolve('team-a/up/outside')).toThrow(
      /leads outside its Terraform root/,
    );
  });

  it('fails to start without roots or with a root that does not exist', () => {
    expect(() => new TerraformWorkspaces([])).toThrow(/at least one root/);
    expect(() => new TerraformWorkspaces([path.join(base, 'nope')])).toThrow(
      /ENOENT/,
    );
  });
});
