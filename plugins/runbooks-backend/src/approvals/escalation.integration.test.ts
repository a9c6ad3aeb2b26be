import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import notificationsPlugin from '@backstage/plugin-notifications-backend';
import request from 'supertest';
import { inProcessToolsModule } from '../__testUtils__/tools';
import { runbooksPlugin } from '../plugin';

jest.setTimeout(60_000);

const user = (name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'User',
  metadata: { name, namespace: 'default' },
  spec: {},
});

const checkout: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'checkout', namespace: 'default' },
  spec: { type: 'service', owner: 'team-checkout' },
  relations: [
    { type: 'ownedBy', targetRef: 'group:default/team-checkout' },
    { type: 'dependencyOf', targetRef: 'component:default/storefront' },
  ],
};

const scale: Entity = {
  apiVersion: 'runbooks.backstage.io/v1alpha1',
  kind: 'Runbook',
  metadata: { name: 'scale', namespace: 'default' },
  spec: {
    owner: 'group:default/sre',
    appliesTo: { entities: ['component:default/checkout'] },
    steps: [{ id: 'scale', tool: 'k8s/scale', mutates: true, dryRun: true }],
  },
};

const { module: tools } = inProcessToolsModule({
  'k8s/scale': {
    plan: () => ({ changes: [{ action: 'update' }], objectCount: 1 }),
    run: () => ({}),
  },
});

describe('escalation of a waiting approval through Backstage notifications', () => {
  it('notifies the on-call levels of the target owner in turn, and records each', async () => {
    const backend = await startTestBackend({
      features: [
        runbooksPlugin,
        tools,
        notificationsPlugin,
        catalogServiceMock.factory({
          entities: [checkout, scale, user('bob'), user('dave')],
        }),
        mockServices.database.factory(),
        // the real scheduler: the mock one runs tasks once at startup only
        schedulerServiceFactory,
        mockServices.rootConfig.factory({
          data: {
            app: { baseUrl: 'http://localhost:3000' },
            runbooks: {
              engine: { pollIntervalMs: 50 },
              approvals: { escalationCheckSeconds: 1 },
              onCall: {
                teams: [
                  {
                    group: 'team-checkout',
                    levels: [
                      { escalateAfter: '2s', rotations: [{ users: ['bob'] }] },
                      { rotations: [{ users: ['dave'] }] },
                    ],
                  },
                ],
              },
            },
          },
        }),
      ],
    });
    const server = backend.server;
    const as = (name: string) => ({
      Authorization: mockCredentials.user.header(`user:default/${name}`),
    });
    const created = await request(server)
      .post('/api/runbooks/executions')
      .set(as('alice'))
      .send({
        runbookRef: 'runbook:default/scale',
        entityRef: 'component:default/checkout',
        mode: 'execute',
      });
    expect(created.status).toBe(201);
    const id = created.body.id;

    const notificationsOf = async (name: string) =>
      (
        await request(server)
          .get('/api/notifications/notifications')
          .set(as(name))
      ).body.notifications as Array<{
        payload: { title: string; link: string; topic: string };
      }>;
    const escalated = async () =>
      (
        await request(server)
          .get(`/api/runbooks/executions/${id}`)
          .set(as('bob'))
      ).body.events.filter(
        (e: { type: string }) => e.type === 'approval-escalated',
      );

    const deadline = Date.now() + 30_000;
    while ((await escalated()).length < 2 && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 200));
    }
    const events = await escalated();
    expect(
      events.map((e: any) => [
        e.payload.level,
        e.payload.users,
        e.payload.delivered,
      ]),
    ).toEqual([
      [1, ['user:default/bob'], true],
      [2, ['user:default/dave'], true],
    ]);
    // level 2 only after level 1 had its 2 s
    expect(
      new Date(events[1].createdAt).getTime() -
        new Date(events[0].createdAt).getTime(),
    ).toBeGreaterThanOrEqual(1000);

    for (const name of ['bob', 'dave']) {
      expect(await notificationsOf(name)).toEqual([
        expect.objectContaining({
          payload: expect.objectContaining({
            title:
              'Approval needed: runbook:default/scale on component:default/checkout',
            link: '/catalog/default/component/checkout/runbooks',
            topic: 'runbooks-approval',
          }),
        }),
      ]);
    }
    expect(await notificationsOf('alice')).toEqual([]);
    await backend.stop();
  });
});
