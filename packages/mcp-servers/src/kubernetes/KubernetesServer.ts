import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerDeploymentTools } from './deploymentTools';
import { Kubectl, KubectlOptions } from './Kubectl';
import { registerManifestTools } from './manifestTools';
import { registerNodeTools } from './nodeTools';
import { registerReadTools } from './readTools';
import { registerSecretTools } from './secretTools';

/**
 * Options of {@link createKubernetesServer}.
 * @public
 */
export interface KubernetesServerOptions extends KubectlOptions {
  /** The highest replica count `scale` accepts (default 20). */
  maxScale?: number;
}

/**
 * The Kubernetes MCP server: read tools and mutating tools under the runbooks tool contract, all
 * through the real kubectl.
 * @public
 */
export function createKubernetesServer(
  options: KubernetesServerOptions = {},
): McpServer {
  const server = new McpServer({
    name: 'runbooks-kubernetes',
    version: '0.1.0',
  });
  const kubectl = new Kubectl(options);
  registerReadTools(server, kubectl);
  registerDeploymentTools(server, kubectl, {
    maxScale: options.maxScale ?? 20,
  });
  registerNodeTools(server, kubectl);
  registerSecretTools(server, kubectl);
  registerManifestTools(server, kubectl);
  return server;
}
