import { createBackend } from '@backstage/backend-defaults';
import { demoAuthModule } from './modules/demoAuth';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));

// auth: demo users for the local portal only (see app-config.yaml)
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(demoAuthModule);

// catalog, with the Runbook kind
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));
backend.add(import('@runbooks/plugin-catalog-backend-module-runbooks'));

// permissions: allow-all until the runbooks permission policy lands
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(
  import('@backstage/plugin-permission-backend-module-allow-all-policy'),
);

// runbooks
backend.add(import('@runbooks/plugin-runbooks-backend'));

backend.start();
