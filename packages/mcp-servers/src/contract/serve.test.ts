import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { AddressInfo } from 'node:net';
import { request, Server } from 'node:http';
import { createNoopServer } from '../noop';
import { serveHttp } from './serve';

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 't', version: '0' },
  },
};

describe('serveHttp', () => {
  let http: Server;
  let url: string;
  beforeAll(async () => {
    const state = { counter: 0 };
    http = await serveHttp(() => createNoopServer(state), {
      port: 0,
      token: 'correct-horse-battery',
    });
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  });
  afterAll(() => new Promise(r => http.close(r)));

  // node:http rather than fetch: fetch does not let a caller set Host or Origin
  const post = (headers: Record<string, string>) =>
    new Promise<{ status: number }>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...headers,
          },
        },
        res => {
          res.resume();
          resolve({ status: res.statusCode ?? 0 });
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(initialize));
    });

  it('needs the bearer token', async () => {
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: 'Bearer wrong' })).status).toBe(401);
    expect(
      (await post({ authorization: 'Bearer correct-horse-battery' })).status,
    ).toBe(200);
  });

  it('refuses browsers and other host names (DNS rebinding)', async () => {
    const auth = { authorization: 'Bearer correct-horse-battery' };
    expect(
      (await post({ ...auth, origin: 'http://evil.example' })).status,
    ).toBe(403);
    expect((await post({ ...auth, host: 'evil.example' })).status).toBe(403);
  });

  it('serves an MCP client that sends the token', async () => {
    const client = new Client({ name: 't', version: '0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: {
          headers: { authorization: 'Bearer correct-horse-battery' },
        },
      }),
    );
    const result = await client.callTool({ name: 'read', arguments: {} });
    expect(result.structuredContent).toEqual({ applied: 0 });
    await client.close();
  });
});
