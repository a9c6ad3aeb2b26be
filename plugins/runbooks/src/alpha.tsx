import { convertLegacyRouteRef } from '@backstage/core-compat-api';
import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { RunbooksClient, runbooksApiRef } from './api';
import { isRunbooksAvailable } from './conditions';
import {
  approvalsRouteRef,
  executionRouteRef,
  rootRouteRef,
  runbooksPageRouteRef,
} from './routes';

/** @alpha */
export const runbooksApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: runbooksApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new RunbooksClient({ discoveryApi, fetchApi }),
    }),
});

/** @alpha */
export const runbooksEntityContent = EntityContentBlueprint.make({
  params: {
    path: 'runbooks',
    title: 'Runbooks',
    filter: isRunbooksAvailable,
    routeRef: convertLegacyRouteRef(rootRouteRef),
    loader: () =>
      import('./components/EntityRunbooksContent').then(m => (
        <m.EntityRunbooksContent />
      )),
  },
});

/** A checklist: the sidebar's icon of the runbooks page. */
const icon = (
  <svg
    viewBox="0 0 24 24"
    width="24"
    height="24"
    fill="currentColor"
    aria-hidden
  >
    <path d="M19 3h-4.18A3 3 0 0 0 12 1a3 3 0 0 0-2.82 2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2zm-7 0a1 1 0 1 1 0 2 1 1 0 0 1 0-2zm-2 14-4-4 1.41-1.41L10 14.17l6.59-6.59L18 9l-8 8z" />
  </svg>
);

/**
 * The plugin's page at `/runbooks` (a sidebar item in apps of the new frontend system): the
 * approvals inbox and each execution's page, with the kill-switch banner.
 * @alpha
 */
export const runbooksPage = PageBlueprint.make({
  params: {
    path: '/runbooks',
    title: 'Runbook approvals',
    icon,
    noHeader: true,
    routeRef: convertLegacyRouteRef(runbooksPageRouteRef),
    loader: () =>
      import('./components/RunbooksPage').then(m => <m.RunbooksPage />),
  },
});

/**
 * The runbooks frontend plugin for the new frontend system.
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'runbooks',
  title: 'Runbooks',
  icon,
  extensions: [runbooksApi, runbooksEntityContent, runbooksPage],
  routes: {
    root: convertLegacyRouteRef(rootRouteRef),
    page: convertLegacyRouteRef(runbooksPageRouteRef),
    approvals: convertLegacyRouteRef(approvalsRouteRef),
    execution: convertLegacyRouteRef(executionRouteRef),
  },
});
