import { LoggerService } from '@backstage/backend-plugin-api';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, Tool } from '@modelcontextprotocol/sdk/types.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { checkToolPlan, planDigest } from '../contract';
import {
  ToolDescription,
  ToolInvocation,
  ToolInvoker,
  ToolPlan,
  ToolResult,
  ToolSnapshotRequest,
} from '../ToolInvoker';
import { McpPoolSettings, McpServerConfig } from './config';

/**
 * The state of one configured server, for health endpoints and logs.
 * @public
 */
export interface McpServerStatus {
  name: string;
  transport: McpServerConfig['transport'];
  state: 'idle' | 'starting' | 'ready' | 'failed' | 'closed';
  tools: string[];
  /** Times the server was (re)started. */
  starts: number;
  lastError?: string;
}

const CONTRACT_INPUTS = ['dryRun', 'expectedPlanDigest', 'snapshot'];
/** A server that pages tools/list beyond this is treated as broken rather than followed forever. */
const MAX_TOOL_PAGES = 100;
const RESTART_BACKOFF_MS = [0, 1000, 2000, 5000, 10000, 30000];

/** A tool call failed in the transport or the server (crash, timeout, malformed answer). */
class ToolServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolServerError';
  }
}

/** Finds a bare command in node_modules/.bin from the working directory upwards, then on PATH. */
function resolveCommand(command: string): string {
  if (command.includes('/') || command.includes(path.sep)) return command;
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '.bin', command);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return command;
  }
}

/** Redacts every configured env and header value from a text before it reaches a log. */
function redactor(config: McpServerConfig): (text: string) => string {
  const secrets = Object.values(
    config.transport === 'stdio' ? config.env : config.headers,
  ).filter(v => v.length >= 4);
  return text =>
    secrets.reduce((t, s) => t.split(s).join('***'), text).slice(0, 2000);
}

function cap(value: unknown, maxBytes: number): unknown {
  if (value === undefined) return undefined;
  const json = JSON.stringify(value);
  if (json === undefined || Buffer.byteLength(json) <= maxBytes) return value;
  const kept = Buffer.from(json).subarray(0, maxBytes).toString('utf8');
  return {
    truncated: true,
    bytes: Buffer.byteLength(json),
    preview: `${kept}…[output truncated: ${Buffer.byteLength(
      json,
    )} bytes, ${maxBytes} kept]`,
  };
}

function textOf(result: Record<string, unknown>): string {
  const content = Array.isArray(result.content) ? result.content : [];
  return content
    .filter((c: any) => c?.type === 'text' && typeof c.text === 'string')
    .map((c: any) => c.text as string)
    .join('\n');
}

/** One configured server: started on first use, restarted after it exits, closed with the pool. */
class McpServerConnection {
  private client?: Client;
  private starting?: Promise<Client>;
  private tools = new Map<string, Tool>();
  private failures = 0;
  private nextStartAt = 0;
  private closed = false;
  readonly status: McpServerStatus;
  private readonly redact: (text: string) => string;

  constructor(
    readonly config: McpServerConfig,
    private readonly settings: McpPoolSettings,
    private readonly logger: LoggerService,
  ) {
    this.status = {
      name: config.name,
      transport: config.transport,
      state: 'idle',
      tools: [],
      starts: 0,
    };
    this.redact = redactor(config);
  }

  async connect(): Promise<Client> {
    if (this.closed)
      throw new ToolServerError(`tool server ${this.config.name} is shut down`);
    if (this.client) return this.client;
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  private transport(): Transport {
    const config = this.config;
    if (config.transport === 'streamable-http') {
      return new StreamableHTTPClientTransport(new URL(config.url), {
        requestInit: { headers: config.headers },
      });
    }
    const transport = new StdioClientTransport({
      command: resolveCommand(config.command),
      args: config.args,
      // the server gets PATH and HOME plus what its config names, not the backend's secrets
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...config.env,
      },
      cwd: config.cwd,
      stderr: 'pipe',
    });
    const stderr = transport.stderr;
    let buffered = '';
    stderr?.on('data', (chunk: Buffer) => {
      buffered = (buffered + chunk.toString('utf8')).slice(-4000);
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines.slice(-20)) {
        if (line.trim()) {
          this.logger.debug(`tool server ${config.name}: ${this.redact(line)}`);
        }
      }
    });
    return transport;
  }

  private async start(): Promise<Client> {
    const wait = this.nextStartAt - Date.now();
    if (wait > 0) {
      throw new ToolServerError(
        `tool server ${this.config.name} failed to start (${
          this.status.lastError
        }); next attempt in ${Math.ceil(wait / 1000)} s`,
      );
    }
    this.status.state = 'starting';
    this.status.starts += 1;
    const client = new Client({
      name: 'backstage-runbooks',
      version: '0.1.0',
    });
    const transport = this.transport();
    try {
      const timeout = this.settings.startTimeoutMs;
      await client.connect(transport, { timeout });
      const tools: Tool[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        if (++pages > MAX_TOOL_PAGES) {
          throw new Error(
            `tools/list did not end after ${MAX_TOOL_PAGES} pages`,
          );
        }
        const page = await client.listTools(cursor ? { cursor } : {}, {
          timeout,
        });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      this.tools = new Map(tools.map(t => [t.name, t]));
      this.status.tools = tools.map(t => t.name).sort();
    } catch (e) {
      await client.close().catch(() => {});
      this.failures += 1;
      const backoff =
        RESTART_BACKOFF_MS[
          Math.min(this.failures, RESTART_BACKOFF_MS.length - 1)
        ];
      this.nextStartAt = Date.now() + backoff;
      this.status.state = 'failed';
      this.status.lastError = this.redact(String((e as Error)?.message ?? e));
      this.logger.warn(
        `Tool server ${this.config.name} could not be started: ${this.status.lastError}`,
      );
      throw new ToolServerError(
        `tool server ${this.config.name} could not be started: ${this.status.lastError}`,
      );
    }
    if (this.closed) {
      await client.close().catch(() => {});
      throw new ToolServerError(`tool server ${this.config.name} is shut down`);
    }
    client.onclose = () => {
      if (this.client === client) {
        this.client = undefined;
        if (!this.closed) {
          this.status.state = 'failed';
          this.status.lastError = 'the server exited';
          this.logger.warn(
            `Tool server ${this.config.name} exited; it restarts on its next use`,
          );
        }
      }
    };
    this.failures = 0;
    this.client = client;
    this.status.state = 'ready';
    this.status.lastError = undefined;
    this.logger.info(
      `Tool server ${this.config.name} started (${this.config.transport}) with ${this.tools.size} tool(s)`,
    );
    return client;
  }

  async tool(name: string): Promise<Tool | undefined> {
    await this.connect();
    return this.tools.get(name);
  }

  /**
   * Drops this client's connection (and kills a stdio server) so the next use starts it afresh;
   * nothing happens when the connection was already replaced.
   */
  async restart(client: Client, reason: string) {
    if (this.client !== client) return;
    this.client = undefined;
    this.logger.warn(`Restarting tool server ${this.config.name}: ${reason}`);
    this.status.state = 'failed';
    this.status.lastError = reason;
    await client.close().catch(() => {});
  }

  /** Pings the server; one that does not answer in time is restarted. Resolves whether it answered. */
  async ping(timeoutMs: number, client = this.client): Promise<boolean> {
    if (!client) return false;
    try {
      await client.ping({ timeout: timeoutMs });
      return true;
    } catch (e) {
      await this.restart(
        client,
        `health check failed: ${(e as Error).message}`,
      );
      return false;
    }
  }

  async close() {
    this.closed = true;
    this.status.state = 'closed';
    const client = this.client ?? (await this.starting?.catch(() => undefined));
    this.client = undefined;
    await client?.close().catch(() => {});
  }
}

/**
 * A {@link ToolInvoker} over MCP tool servers: tools are addressed as `server/tool`. Servers start
 * on first use, are pinged periodically, restart after a crash or a hang, and close with the pool.
 * Dry-runs are checked against the tool contract (the plan's digest is recomputed here); outputs
 * above the size cap are cut off with a marker.
 * @public
 */
export class McpToolPool implements ToolInvoker {
  private readonly connections = new Map<string, McpServerConnection>();
  private healthTimer?: NodeJS.Timeout;

  constructor(
    servers: McpServerConfig[],
    private readonly settings: McpPoolSettings,
    logger: LoggerService,
  ) {
    for (const server of servers) {
      this.connections.set(
        server.name,
        new McpServerConnection(server, settings, logger),
      );
    }
  }

  /** Names of the configured servers. */
  serverNames(): string[] {
    return [...this.connections.keys()];
  }

  /** Status of every configured server. */
  statuses(): McpServerStatus[] {
    return [...this.connections.values()].map(c => ({ ...c.status }));
  }

  /** Starts the periodic health check of started servers. */
  startHealthChecks() {
    if (this.healthTimer) return;
    this.healthTimer = setInterval(() => {
      for (const connection of this.connections.values()) {
        connection.ping(Math.min(5000, this.settings.healthCheckIntervalMs));
      }
    }, this.settings.healthCheckIntervalMs);
    this.healthTimer.unref();
  }

  /** Every tool of every server (starting them), by full name; a server that fails is reported. */
  async listTools(): Promise<{
    tools: ToolDescription[];
    failures: { server: string; error: string }[];
  }> {
    const tools: ToolDescription[] = [];
    const failures: { server: string; error: string }[] = [];
    for (const [name, connection] of this.connections) {
      try {
        await connection.connect();
        for (const toolName of connection.status.tools) {
          const described = await this.describe(`${name}/${toolName}`);
          if (described) tools.push(described);
        }
      } catch (e) {
        failures.push({ server: name, error: (e as Error).message });
      }
    }
    return { tools, failures };
  }

  private split(tool: string) {
    const at = tool.indexOf('/');
    if (at <= 0) return undefined;
    const connection = this.connections.get(tool.slice(0, at));
    return connection ? { connection, name: tool.slice(at + 1) } : undefined;
  }

  /**
   * The tool's description; undefined when no configured server has that name or the server does
   * not list the tool. Rejects when the server cannot be started.
   */
  async describe(tool: string): Promise<ToolDescription | undefined> {
    const target = this.split(tool);
    if (!target) return undefined;
    const found = await target.connection.tool(target.name);
    if (!found) return undefined;
    const properties = (found.inputSchema?.properties ?? {}) as Record<
      string,
      unknown
    >;
    return {
      name: tool,
      description: found.description,
      inputSchema: found.inputSchema as Record<string, unknown>,
      // an undeclared hint is left out: the engine then treats the tool as destructive, non-idempotent
      annotations: {
        readOnlyHint: found.annotations?.readOnlyHint,
        destructiveHint: found.annotations?.destructiveHint,
        idempotentHint: found.annotations?.idempotentHint,
      },
      supportsDryRun: 'dryRun' in properties,
      supportsSnapshot: 'snapshot' in properties,
    };
  }

  private async call(
    tool: string,
    args: Record<string, unknown>,
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<{ structured: unknown; text: string; isError: boolean }> {
    const target = this.split(tool);
    if (!target)
      throw new ToolServerError(`no configured tool server offers ${tool}`);
    const client = await target.connection.connect();
    // a per-call signal: the execution's own signal lives long and would collect a listener per call
    const controller = new AbortController();
    const forward = () => controller.abort(options.signal.reason);
    if (options.signal.aborted) forward();
    options.signal.addEventListener('abort', forward, { once: true });
    try {
      const result = await client.callTool(
        { name: target.name, arguments: args },
        undefined,
        {
          signal: controller.signal,
          timeout: options.timeoutMs,
          maxTotalTimeout: options.timeoutMs,
        },
      );
      return {
        structured: result.structuredContent,
        text: textOf(result),
        isError: result.isError === true,
      };
    } catch (e) {
      if (options.signal.aborted) throw e;
      const code = e instanceof McpError ? e.code : undefined;
      if (code === ErrorCode.RequestTimeout) {
        // only a server that no longer answers pings is restarted: others' calls may be in flight
        await target.connection.ping(2000, client);
        throw new ToolServerError(
          `${tool} timed out after ${options.timeoutMs} ms`,
        );
      }
      if (code === ErrorCode.ConnectionClosed) {
        throw new ToolServerError(
          `tool server ${target.connection.config.name} exited during the call of ${tool}`,
        );
      }
      throw new ToolServerError(
        `${tool} failed: ${(e as Error)?.message ?? String(e)}`,
      );
    } finally {
      options.signal.removeEventListener('abort', forward);
    }
  }

  async invoke(call: ToolInvocation): Promise<ToolResult> {
    const max = this.settings.maxOutputBytes;
    const description = await this.describe(call.tool);
    if (!description) {
      return {
        output: undefined,
        error: `no configured tool server offers ${call.tool}`,
      };
    }
    const args: Record<string, unknown> = { ...call.input };
    for (const reserved of CONTRACT_INPUTS) delete args[reserved];
    if (call.dryRun) {
      if (!description.supportsDryRun) {
        return { output: undefined, error: `${call.tool} offers no dry-run` };
      }
      args.dryRun = true;
    } else if (description.supportsDryRun) {
      if (call.expectedPlanDigest === undefined) {
        return {
          output: undefined,
          error: `${call.tool} is a mutating tool: an apply needs the digest of an approved plan`,
        };
      }
      args.expectedPlanDigest = call.expectedPlanDigest;
    }
    const result = await this.call(call.tool, args, call);
    if (result.isError) {
      const text = result.text || 'the tool reported an error';
      return {
        output: undefined,
        error:
          text.length > max
            ? `${text.slice(0, max)}…[error truncated: ${
                text.length
              } characters]`
            : text,
      };
    }
    const output = result.structured ?? parseText(result.text);
    if (!call.dryRun) return { output: cap(output, max) };

    const answer = (output ?? {}) as { plan?: unknown; planDigest?: unknown };
    const problem = checkToolPlan(answer.plan);
    if (problem) {
      return {
        output: undefined,
        error: `dry-run of ${call.tool} broke the tool contract: ${problem}`,
      };
    }
    const plan = answer.plan as ToolPlan;
    const digest = planDigest(plan);
    if (answer.planDigest !== digest) {
      return {
        output: undefined,
        error: `dry-run of ${
          call.tool
        } broke the tool contract: its planDigest ${String(
          answer.planDigest,
        )} is not the digest of its plan (${digest})`,
      };
    }
    if (Buffer.byteLength(JSON.stringify(plan)) > max) {
      return {
        output: undefined,
        error: `the plan of ${call.tool} is larger than ${max} bytes; it cannot be shown for approval`,
      };
    }
    return { output: plan, plan, planDigest: digest };
  }

  async snapshot(request: ToolSnapshotRequest): Promise<unknown> {
    const description = await this.describe(request.tool);
    if (!description?.supportsSnapshot) return undefined;
    const args: Record<string, unknown> = { ...request.input, snapshot: true };
    delete args.dryRun;
    delete args.expectedPlanDigest;
    const result = await this.call(request.tool, args, request);
    if (result.isError) {
      throw new ToolServerError(
        `snapshot of ${request.tool} failed: ${result.text.slice(0, 2000)}`,
      );
    }
    const answer = (result.structured ?? parseText(result.text)) as
      | { snapshot?: unknown }
      | undefined;
    if (!answer || typeof answer !== 'object' || !('snapshot' in answer)) {
      throw new ToolServerError(
        `snapshot of ${request.tool} broke the tool contract: no snapshot in its result`,
      );
    }
    const size = Buffer.byteLength(JSON.stringify(answer.snapshot) ?? '');
    if (size > this.settings.maxOutputBytes) {
      throw new ToolServerError(
        `snapshot of ${request.tool} is ${size} bytes, above the cap of ${this.settings.maxOutputBytes}`,
      );
    }
    return answer.snapshot;
  }

  /** Stops the health check and every server. */
  async close() {
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.all([...this.connections.values()].map(c => c.close()));
  }
}

function parseText(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
