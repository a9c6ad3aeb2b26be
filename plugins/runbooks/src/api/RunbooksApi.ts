import { CompoundEntityRef } from '@backstage/catalog-model';
import {
  createApiRef,
  DiscoveryApi,
  FetchApi,
} from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import { EntityRunbooksResponse } from '@runbooks/plugin-runbooks-common';

/**
 * The runbooks backend, as the frontend uses it.
 * @public
 */
export interface RunbooksApi {
  /** The runbooks that apply to an entity, with parameters resolved against it. */
  getEntityRunbooks(entity: CompoundEntityRef): Promise<EntityRunbooksResponse>;
}

/**
 * The API ref of {@link RunbooksApi}.
 * @public
 */
export const runbooksApiRef = createApiRef<RunbooksApi>({
  id: 'plugin.runbooks.service',
});

/**
 * The default {@link RunbooksApi}: HTTP calls to the runbooks backend.
 * @public
 */
export class RunbooksClient implements RunbooksApi {
  constructor(
    private readonly options: {
      discoveryApi: DiscoveryApi;
      fetchApi: FetchApi;
    },
  ) {}

  async getEntityRunbooks(
    entity: CompoundEntityRef,
  ): Promise<EntityRunbooksResponse> {
    const base = await this.options.discoveryApi.getBaseUrl('runbooks');
    const path = [entity.kind, entity.namespace, entity.name]
      .map(encodeURIComponent)
      .join('/');
    const response = await this.options.fetchApi.fetch(
      `${base}/entities/${path}/runbooks`,
    );
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return response.json();
  }
}
