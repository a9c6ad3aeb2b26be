import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import { NotFoundError } from '@backstage/errors';
import { Knex } from 'knex';
import { ExecutionStore, NewExecution } from './ExecutionStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_15'] });

async function createStore(id: TestDatabaseId) {
  const knex = await databases.init(id);
  const store = await ExecutionStore.create({
    database: { getClient: async () => knex, migrations: { skip: false } },
  });
  return { knex, store };
}

const input = (over: Partial<NewExecution> = {}): NewExecution => ({
  runbookRef: 'runbook:default/scale-deployment',
  runbookDigest: 'sha256:abc',
  runbookContent: { spec: { steps: [{ id: 'scale' }] } },
  entityRef: 'component:default/checkout',
  parameters: { replicas: 3 },
  requester: 'user:default/alice',
  mode: 'dry-run',
  ...over,
});

describe.each(databases.eachSupportedId())('ExecutionStore on %s', id => {
  let knex: Knex;
  let store: ExecutionStore;

  beforeAll(async () => {
    ({ knex, store } = await createStore(id));
  });

  it('records an execution and reads it back with its exact content', async () => {
    const created = await store.createExecution(input());
    const read = await store.getExecution(created.id);
    expect(read).toEqual(created);
    expect(read).toMatchObject({
      status: 'queued',
      mode: 'dry-run',
      parameters: { replicas: 3 },
      runbookContent: { spec: { steps: [{ id: 'scale' }] } },
    });
    expect(read.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(read.createdAt.getTime() - Date.now())).toBeLessThan(
      60_000,
    );
  });

  it("lists an entity's executions newest first", async () => {
    const entityRef = `component:default/svc-${id.toLowerCase()}`;
    const first = await store.createExecution(input({ entityRef }));
    await new Promise(r => setTimeout(r, 5));
    const second = await store.createExecution(
      input({ entityRef, mode: 'execute' }),
    );
    await store.createExecution(
      input({ entityRef: 'component:default/other' }),
    );
    const list = await store.listExecutionsForEntity(entityRef);
    expect(list.map(e => e.id)).toEqual([second.id, first.id]);
    expect(
      await store.listExecutionsForEntity(entityRef, { limit: 1 }),
    ).toHaveLength(1);
  });

  it('says which execution is missing', async () => {
    await expect(store.getExecution('nope')).rejects.toThrow(NotFoundError);
    await expect(store.getExecution('nope')).rejects.toThrow(
      'No execution nope',
    );
  });

  it('runs its migrations down and up again', async () => {
    const directory = require('node:path').resolve(
      __dirname,
      '../../migrations',
    );
    await knex.migrate.rollback({ directory }, true);
    expect(await knex.schema.hasTable('executions')).toBe(false);
    await knex.migrate.latest({ directory });
    expect(await knex.schema.hasTable('executions')).toBe(true);
    expect(await knex.schema.hasColumn('executions', 'lease_expires_at')).toBe(
      true,
    );
  });
});
