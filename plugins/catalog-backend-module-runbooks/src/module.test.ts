import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import path from 'node:path';
import request from 'supertest';
import { catalogModuleRunbooks } from './module';

const fixture = path.resolve(__dirname, '../fixtures/catalog.yaml');
const auth = { Authorization: mockCredentials.user.header() };

async function waitFor<T>(
  fn: () => Promise<T | undefined>,
  what: string,
): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

describe('catalog with the runbooks module', () => {
  it('ingests valid runbooks with relations, and a malformed one breaks nothing', async () => {
    const backend = await startTestBackend({
      features: [
        catalogPlugin,
        catalogModuleRunbooks,
        mockServices.rootConfig.factory({
          data: {
            catalog: {
              rules: [{ allow: ['Component', 'Group', 'Runbook'] }],
              locations: [{ type: 'file', target: fixture }],
            },
          },
        }),
      ],
    });
    const server = backend.server;
    try {
      const get = (url: string) => request(server).get(url).set(auth);

      const checkout = await waitFor(async () => {
        const res = await get(
          '/api/catalog/entities/by-name/component/default/checkout',
        );
        const hasRunbook = res.body?.relations?.some(
          (r: any) => r.type === 'hasRunbook',
        );
        return res.status === 200 && hasRunbook ? res.body : undefined;
      }, 'checkout with its hasRunbook relation');
      expect(checkout.relations).toContainEqual(
        expect.objectContaining({
          type: 'hasRunbook',
          targetRef: 'runbook:default/restart-checkout',
        }),
      );

      const runbook = (
        await get(
          '/api/catalog/entities/by-name/runbook/default/restart-checkout',
        )
      ).body;
      expect(
        runbook.relations.map((r: any) => `${r.type} ${r.targetRef}`).sort(),
      ).toEqual([
        'ownedBy group:default/sre',
        'runbookFor component:default/checkout',
        'runbookFor component:default/legacy',
      ]);

      // the entity after the broken runbook in the same file is ingested
      await waitFor(async () => {
        const res = await get(
          '/api/catalog/entities/by-name/component/default/after-the-broken-runbook',
        );
        return res.status === 200 ? true : undefined;
      }, 'the component after the broken runbook');

      // the broken runbook never appears, and its error names the field
      expect(
        (await get('/api/catalog/entities/by-name/runbook/default/broken'))
          .status,
      ).toBe(404);
      const validation = await request(server)
        .post('/api/catalog/validate-entity')
        .set(auth)
        .send({
          location: 'url:https://git.example.com/runbooks/broken.yaml',
          entity: {
            apiVersion: 'runbooks.backstage.io/v1alpha1',
            kind: 'Runbook',
            metadata: { name: 'broken' },
            spec: {
              owner: 'sre',
              steps: [
                {
                  id: 'restart',
                  tool: 'kubernetes/rollout-restart',
                  mutates: true,
                },
              ],
            },
          },
        });
      expect(validation.status).toBe(400);
      expect(JSON.stringify(validation.body)).toContain(
        "spec.steps[0].mutates: step 'restart' mutates but declares no dry-run",
      );

      // the catalog keeps serving
      const list = await get('/api/catalog/entities?filter=kind=runbook');
      expect(list.status).toBe(200);
      expect(list.body.map((e: any) => e.metadata.name)).toEqual([
        'restart-checkout',
      ]);
    } finally {
      await backend.stop();
    }
  }, 60_000);
});
