import { createBackend } from '@backstage/backend-defaults';
import { demoAuthModule } from './modules/demoAuth';
import { runbooksDemoPolicyModule } from './modules/permissionPolicy';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));

// auth: demo users for the local portal only (see app-config.yaml)
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(demoAuthModule);

// catalog, with the Runbook kind
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));
backend.add(import('@runbooks/plugin-catalog-backend-module-runbooks'));

// permissions: the demo policy (an example; see the README's "Approvals and permissions")
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(runbooksDemoPolicyModule);

// notifications: approvals that wait are escalated to the on-call people through them
backend.add(import('@backstage/plugin-notifications-backend'));

// runbooks
backend.add(import('@runbooks/plugin-runbooks-backend'));

// MCP: the actions of the plugins in backend.actions.pluginSources, as tools for AI clients
backend.add(import('@backstage/plugin-mcp-actions-backend'));

backend.start();
