import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kubectl } from './Kubectl';
import { describeWithKubectl } from './testing';

jest.setTimeout(120_000);

const bin = (name: string) => resolve(__dirname, '../../bin', name);

describeWithKubectl()('the kubernetes bins', () => {
  it('runbooks-mcp-kubernetes --demo-cluster serves the demo cluster over stdio, and says so', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin('runbooks-mcp-kubernetes'), '--demo-cluster'],
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', chunk => {
      stderr += chunk.toString();
    });
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const result: any = await client.callTool({
        name: 'get-deployment',
        arguments: { namespace: 'shop', name: 'storefront' },
      });
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({
        name: 'storefront',
        replicas: 3,
        availableReplicas: 3,
      });
      expect(stderr).toContain('DEMO CLUSTER');
      expect(stderr).toContain('FAKE Kubernetes API');
    } finally {
      await client.close();
    }
  });

  it('runbooks-kube-fake serves the demo cluster on a port and writes a kubeconfig', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-fake-bin-'));
    const kubeconfig = join(dir, 'kubeconfig');
    const child = spawn(
      process.execPath,
      [
        bin('runbooks-kube-fake'),
        '--port',
        '0',
        '--kubeconfig-out',
        kubeconfig,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = '';
        child.stdout.on('data', chunk => {
          out += chunk.toString();
          const line = out.split('\n').find(l => l.startsWith('http://'));
          if (line) resolveUrl(line.trim());
        });
        child.on('exit', code =>
          reject(new Error(`runbooks-kube-fake exited with ${code}`)),
        );
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const kubectl = new Kubectl({ kubeconfig, cacheDir: join(dir, 'cache') });
      const nodes = await kubectl.json(['get', 'nodes']);
      expect(nodes.items).toHaveLength(4);
    } finally {
      const exited = new Promise(r => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
