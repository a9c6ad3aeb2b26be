import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import request from 'supertest';
import { runbooksPlugin } from '../plugin';
import { kubernetesCheckoutEntity } from '../__testUtils__/fixtures';

const checkout = kubernetesCheckoutEntity;

const website: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'storefront', namespace: 'default' },
  spec: { type: 'website', owner: 'team-checkout' },
};

const runbook = (name: string, spec: Record<string, unknown>): Entity => ({
  apiVersion: 'runbooks.backstage.io/v1alpha1',
  kind: 'Runbook',
  metadata: { name, namespace: 'default', title: name.toUpperCase() },
  spec: { owner: 'group:default/sre', ...spec },
});

const entities = [
  checkout,
  website,
  runbook('scale', {
    appliesTo: {
      selector: {
        kind: 'Component',
        annotations: { 'backstage.io/kubernetes-id': '*' },
      },
    },
    parameters: {
      deployment: {
        type: 'string',
        format: 'k8s-name',
        default:
          "${{ entity.metadata.annotations['backstage.io/kubernetes-id'] }}",
      },
      replicas: { type: 'integer', minimum: 1, maximum: 20 },
    },
    steps: [
      { id: 'read', tool: 'kubernetes/get-deployment', mutates: false },
      { id: 'scale', tool: 'kubernetes/scale', mutates: true, dryRun: true },
    ],
  }),
  runbook('purge', {
    appliesTo: { entities: ['component:default/storefront'] },
    steps: [
      {
        id: 'purge',
        tool: 'ansible/run-playbook',
        mutates: true,
        dryRun: true,
        approval: 'always',
      },
    ],
  }),
];

async function startBackend(options: { anonymous?: boolean } = {}) {
  return startTestBackend({
    features: [
      runbooksPlugin,
      catalogServiceMock.factory({ entities }),
      mockServices.database.factory(),
      ...(options.anonymous
        ? [
            mockServices.httpAuth.factory({
              defaultCredentials: mockCredentials.none(),
            }),
          ]
        : []),
    ],
  });
}

describe('GET /entities/:kind/:namespace/:name/runbooks', () => {
  it('lists the runbooks that apply, with defaults resolved from the entity', async () => {
    const { server } = await startBackend();
    const res = await request(server)
      .get('/api/runbooks/entities/component/default/checkout/runbooks')
      .set('Authorization', mockCredentials.user.header());
    expect(res.status).toBe(200);
    expect(res.body.entityRef).toBe('component:default/checkout');
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({
      ref: 'runbook:default/scale',
      title: 'SCALE',
      owner: 'group:default/sre',
      appliesBy: ['selector'],
      defaults: { deployment: 'checkout' },
      mutatingSteps: 1,
      approval: 'blast-radius',
      parametersSchema: {
        type: 'object',
        required: ['replicas'],
        properties: {
          deployment: { type: 'string', default: 'checkout' },
          replicas: { type: 'integer', minimum: 1, maximum: 20 },
        },
      },
    });
  });

  it('resolves explicit targets and reports approval always', async () => {
    const { server } = await startBackend();
    const res = await request(server)
      .get('/api/runbooks/entities/component/default/storefront/runbooks')
      .set('Authorization', mockCredentials.user.header());
    expect(res.status).toBe(200);
    expect(
      res.body.items.map((i: any) => [i.name, i.appliesBy, i.approval]),
    ).toEqual([['purge', ['relation'], 'always']]);
  });

  it('answers 404 for an entity that is not in the catalog', async () => {
    const { server } = await startBackend();
    const res = await request(server)
      .get('/api/runbooks/entities/component/default/nope/runbooks')
      .set('Authorization', mockCredentials.user.header());
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe(
      'No entity component:default/nope in the catalog',
    );
  });

  it('refuses a request without credentials', async () => {
    const { server } = await startBackend({ anonymous: true });
    const res = await request(server).get(
      '/api/runbooks/entities/component/default/checkout/runbooks',
    );
    expect(res.status).toBe(401);
  });
});

describe('catalog access', () => {
  it("reads the catalog with the caller's credentials", async () => {
    const catalog = catalogServiceMock({ entities });
    const getEntityByRef = jest.spyOn(catalog, 'getEntityByRef');
    const getEntities = jest.spyOn(catalog, 'getEntities');
    const { server } = await startTestBackend({
      features: [
        runbooksPlugin,
        createServiceFactory({
          service: catalogServiceRef,
          deps: {},
          factory: () => catalog,
        }),
        mockServices.database.factory(),
      ],
    });
    const res = await request(server)
      .get('/api/runbooks/entities/component/default/checkout/runbooks')
      .set('Authorization', mockCredentials.user.header('user:default/carol'));
    expect(res.status).toBe(200);
    const credentials = mockCredentials.user('user:default/carol');
    expect(getEntityByRef).toHaveBeenCalledWith('component:default/checkout', {
      credentials,
    });
    expect(getEntities).toHaveBeenCalledWith(
      { filter: { kind: 'Runbook' } },
      { credentials },
    );
  });
});

describe('the blast-radius preview of the runbooks on an entity', () => {
  const dependent: Entity = {
    ...website,
    spec: { ...website.spec, owner: 'team-web', lifecycle: 'production' },
    relations: [{ type: 'dependsOn', targetRef: 'component:default/checkout' }],
  };
  const target: Entity = {
    ...checkout,
    relations: [
      { type: 'dependencyOf', targetRef: 'component:default/storefront' },
    ],
  };
  const readOnly = runbook('inspect', {
    appliesTo: { entities: ['component:default/checkout'] },
    steps: [{ id: 'read', tool: 'kubernetes/get-deployment', mutates: false }],
  });

  async function list(catalogDown = false) {
    const catalog = catalogServiceMock({
      entities: [target, dependent, entities[2], readOnly],
    });
    if (catalogDown) {
      jest
        .spyOn(catalog, 'getEntitiesByRefs')
        .mockRejectedValue(new Error('catalog unavailable'));
    }
    const { server } = await startTestBackend({
      features: [
        runbooksPlugin,
        createServiceFactory({
          service: catalogServiceRef,
          deps: {},
          factory: () => catalog,
        }),
        mockServices.database.factory(),
      ],
    });
    const res = await request(server)
      .get('/api/runbooks/entities/component/default/checkout/runbooks')
      .set('Authorization', mockCredentials.user.header());
    expect(res.status).toBe(200);
    return Object.fromEntries(
      res.body.items.map((i: any) => [i.name, i.radiusPreview]),
    );
  }

  it('previews what a mutating runbook reaches, and nothing for a read-only one', async () => {
    const previews = await list();
    expect(Object.keys(previews).sort()).toEqual(['inspect', 'scale']);
    expect(previews.inspect).toBeUndefined();
    expect(previews.scale).toMatchObject({
      level: 'medium',
      action: 'approve',
      approvalsRequired: 1,
      target: { entityRef: 'component:default/checkout' },
      affected: [
        {
          entityRef: 'component:default/storefront',
          owner: 'group:default/team-web',
          depth: 1,
          via: 'dependencyOf',
          counted: true,
        },
      ],
      measures: { dependents: 1, objects: 1, hosts: 0 },
    });
  });

  it('lists the runbooks without previews when the catalog graph cannot be read', async () => {
    const previews = await list(true);
    expect(Object.keys(previews).sort()).toEqual(['inspect', 'scale']);
    expect(previews.scale).toBeUndefined();
  });
});
