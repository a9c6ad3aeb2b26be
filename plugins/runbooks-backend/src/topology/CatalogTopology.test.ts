import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { NotFoundError } from '@backstage/errors';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { demoCatalogEntities } from './__testUtils__/demoCatalog';
import { CatalogTopology } from './CatalogTopology';

function topologyOver(entities: Entity[] = demoCatalogEntities()) {
  const catalog = catalogServiceMock({ entities });
  const topology = new CatalogTopology({
    catalog,
    auth: mockServices.auth({ pluginId: 'runbooks' }),
  });
  return { catalog, topology };
}

/** `[entityRef, depth]` pairs, the shape the expected answers below are written in. */
const hops = (affected: Array<{ entityRef: string; depth: number }>) =>
  affected.map(e => [e.entityRef, e.depth]);

describe('CatalogTopology', () => {
  it('finds what depends on checkout: the storefront, one hop away', async () => {
    const { topology } = topologyOver();
    await expect(
      topology.affected('component:default/checkout'),
    ).resolves.toEqual({
      target: {
        entityRef: 'component:default/checkout',
        owner: 'group:default/team-checkout',
        lifecycle: 'production',
      },
      affected: [
        {
          entityRef: 'component:default/storefront',
          kind: 'Component',
          owner: 'group:default/team-checkout',
          lifecycle: 'production',
          depth: 1,
          via: 'dependencyOf',
          counted: true,
        },
      ],
      truncated: false,
    });
  });

  it('walks from the orders queue to its consumers and on to the storefront', async () => {
    const { topology } = topologyOver();
    const walk = await topology.affected('resource:orders-queue');
    expect(walk.target).toEqual({
      entityRef: 'resource:default/orders-queue',
      owner: 'group:default/team-checkout',
    });
    // checkout, order-worker and notifications declare dependsOn orders-queue; storefront depends
    // on checkout; notifications' dependent order-worker is already one hop away
    expect(hops(walk.affected)).toEqual([
      ['component:default/checkout', 1],
      ['component:default/notifications', 1],
      ['component:default/order-worker', 1],
      ['component:default/storefront', 2],
    ]);
    expect(walk.affected.map(e => e.owner)).toEqual([
      'group:default/team-checkout',
      'group:default/team-payments',
      'group:default/team-checkout',
      'group:default/team-checkout',
    ]);
    expect(walk.truncated).toBe(false);
  });

  it('finds nothing affected by a change to the storefront, which nothing depends on', async () => {
    const { topology } = topologyOver();
    await expect(
      topology.affected('component:default/storefront'),
    ).resolves.toMatchObject({ affected: [], truncated: false });
  });

  it('reaches every workload but the payments side from the shop cluster', async () => {
    const { topology } = topologyOver();
    const walk = await topology.affected('resource:default/shop-cluster');
    expect(walk.target.owner).toBe('group:default/sre');
    expect(hops(walk.affected)).toEqual([
      ['resource:default/orders-queue', 1],
      ['resource:default/session-cache', 1],
      ['component:default/catalog-service', 2],
      ['component:default/checkout', 2],
      ['component:default/notifications', 2],
      ['component:default/order-worker', 2],
      ['component:default/storefront', 2],
    ]);
  });

  it('reaches the parts of a system through hasPart', async () => {
    const { topology } = topologyOver();
    const walk = await topology.affected('system:default/shop');
    expect(walk.affected.every(e => e.depth === 1 && e.via === 'hasPart')).toBe(
      true,
    );
    expect(walk.affected.map(e => e.entityRef)).toEqual([
      'component:default/catalog-service',
      'component:default/checkout',
      'component:default/inventory',
      'component:default/notifications',
      'component:default/order-worker',
      'component:default/payments',
      'component:default/payments-gateway',
      'component:default/storefront',
      'resource:default/catalog-db',
      'resource:default/inventory-db',
      'resource:default/orders-db',
      'resource:default/orders-queue',
      'resource:default/payments-db',
      'resource:default/session-cache',
      'resource:default/shop-cluster',
    ]);
  });

  it('fetches each layer with one request, with the service credentials', async () => {
    const { catalog, topology } = topologyOver();
    const byRefs = jest.spyOn(catalog, 'getEntitiesByRefs');
    await topology.affected('resource:default/shop-cluster');
    expect(byRefs.mock.calls.map(([request]) => request.entityRefs)).toEqual([
      ['resource:default/orders-queue', 'resource:default/session-cache'],
      [
        'component:default/catalog-service',
        'component:default/checkout',
        'component:default/notifications',
        'component:default/order-worker',
        'component:default/storefront',
      ],
    ]);
    expect(byRefs.mock.calls[0][1]).toEqual({
      credentials: mockCredentials.service('plugin:runbooks'),
    });
  });

  it('stops at maxDepth and maxEntities and says the walk was truncated', async () => {
    const { topology } = topologyOver();
    const shallow = await topology.affected('resource:default/shop-cluster', {
      maxDepth: 1,
    });
    expect(hops(shallow.affected)).toEqual([
      ['resource:default/orders-queue', 1],
      ['resource:default/session-cache', 1],
    ]);
    expect(shallow.truncated).toBe(true);

    const few = await topology.affected('resource:default/shop-cluster', {
      maxEntities: 3,
    });
    expect(hops(few.affected)).toEqual([
      ['resource:default/orders-queue', 1],
      ['resource:default/session-cache', 1],
      ['component:default/catalog-service', 2],
    ]);
    expect(few.truncated).toBe(true);

    // the whole walk fits: not truncated
    const exact = await topology.affected('resource:default/shop-cluster', {
      maxDepth: 2,
      maxEntities: 7,
    });
    expect(exact.affected).toHaveLength(7);
    expect(exact.truncated).toBe(false);
  });

  it('reads the tier from the annotation, else the label, and the owner from spec without relations', async () => {
    const entities = demoCatalogEntities();
    const named = (name: string) =>
      entities.find(e => e.metadata.name === name)!;
    named('storefront').metadata.annotations!['runbooks.backstage.io/tier'] =
      '1';
    named('storefront').metadata.labels = { tier: 'ignored' };
    named('checkout').metadata.labels = { tier: 'critical' };
    const checkout = named('checkout');
    checkout.relations = checkout.relations!.filter(r => r.type !== 'ownedBy');
    checkout.spec!.owner = 'sre';
    const { topology } = topologyOver(entities);

    const walk = await topology.affected('resource:default/orders-queue');
    expect(walk.affected).toContainEqual(
      expect.objectContaining({
        entityRef: 'component:default/storefront',
        tier: '1',
      }),
    );
    expect(walk.affected).toContainEqual(
      expect.objectContaining({
        entityRef: 'component:default/checkout',
        tier: 'critical',
        owner: 'group:default/sre',
      }),
    );
  });

  it('keeps a related entity the catalog no longer serves, with what its ref tells', async () => {
    const entities = demoCatalogEntities();
    entities
      .find(e => e.metadata.name === 'checkout')!
      .relations!.push({
        type: 'dependencyOf',
        targetRef: 'component:default/ghost',
      });
    const { topology } = topologyOver(entities);
    const walk = await topology.affected('component:default/checkout');
    expect(walk.affected).toEqual([
      {
        entityRef: 'component:default/ghost',
        kind: 'component',
        depth: 1,
        via: 'dependencyOf',
        counted: true,
      },
      expect.objectContaining({ entityRef: 'component:default/storefront' }),
    ]);
  });

  it('throws NotFoundError for an entity the catalog does not have', async () => {
    const { topology } = topologyOver();
    await expect(
      topology.affected('component:default/nonexistent'),
    ).rejects.toThrow(NotFoundError);
  });
});
