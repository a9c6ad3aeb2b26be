import { Config } from '@backstage/config';

/**
 * One MCP tool server, as configured under `runbooks.tools.servers`.
 * @public
 */
export type McpServerConfig =
  | {
      name: string;
      transport: 'stdio';
      command: string;
      args: string[];
      env: Record<string, string>;
      cwd?: string;
    }
  | {
      name: string;
      transport: 'streamable-http';
      url: string;
      headers: Record<string, string>;
    };

/**
 * Settings of the pool, from `runbooks.tools`.
 * @public
 */
export interface McpPoolSettings {
  /** How long starting a server (spawn, initialize, tools/list) may take. */
  startTimeoutMs: number;
  /** Interval of the health check (ping) of started servers. */
  healthCheckIntervalMs: number;
  /** Bytes of a tool's output kept; the rest is cut off with a marker. */
  maxOutputBytes: number;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Reads `runbooks.tools` from the backend's config. Throws naming the key of a wrong entry.
 * @public
 */
export function readMcpToolsConfig(config: Config): {
  servers: McpServerConfig[];
  settings: McpPoolSettings;
} {
  const tools = config.getOptionalConfig('runbooks.tools');
  const servers: McpServerConfig[] = [];
  const seen = new Set<string>();
  for (const [i, server] of (
    tools?.getOptionalConfigArray('servers') ?? []
  ).entries()) {
    const key = `runbooks.tools.servers[${i}]`;
    const name = server.getString('name');
    if (!NAME.test(name)) {
      throw new Error(
        `${key}.name '${name}' must be lowercase letters, digits and dashes (it prefixes tool names: ${name}/tool)`,
      );
    }
    if (seen.has(name)) {
      throw new Error(`${key}.name '${name}' is configured twice`);
    }
    seen.add(name);
    const transport = server.getOptionalString('transport') ?? 'stdio';
    if (transport === 'stdio') {
      servers.push({
        name,
        transport,
        command: server.getString('command'),
        args: server.getOptionalStringArray('args') ?? [],
        env: readStringMap(server.getOptionalConfig('env')),
        cwd: server.getOptionalString('cwd'),
      });
    } else if (transport === 'streamable-http') {
      const url = server.getString('url');
      if (!URL.canParse(url)) {
        throw new Error(`${key}.url '${url}' is not a URL`);
      }
      servers.push({
        name,
        transport,
        url,
        headers: readStringMap(server.getOptionalConfig('headers')),
      });
    } else {
      throw new Error(
        `${key}.transport '${transport}' is not one of stdio, streamable-http`,
      );
    }
  }
  return {
    servers,
    settings: {
      startTimeoutMs:
        (tools?.getOptionalNumber('startTimeoutSeconds') ?? 30) * 1000,
      healthCheckIntervalMs:
        (tools?.getOptionalNumber('healthCheckIntervalSeconds') ?? 30) * 1000,
      maxOutputBytes: tools?.getOptionalNumber('maxOutputBytes') ?? 256 * 1024,
    },
  };
}

function readStringMap(config: Config | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  if (!config) return map;
  for (const key of config.keys()) {
    map[key] = String(config.get(key));
  }
  return map;
}
