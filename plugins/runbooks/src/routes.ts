import { createRouteRef } from '@backstage/core-plugin-api';

/**
 * The route of the Runbooks entity tab.
 * @public
 */
export const rootRouteRef = createRouteRef({ id: 'runbooks' });
