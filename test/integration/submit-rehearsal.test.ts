import { rehearseOrderSubmission, type RehearsalDeps } from '../../api/orders/submit-rehearsal';
import { ORDER_WORKFLOW_TYPE } from '../../api/orders/order-workflows';
import { createDatabase, type Database } from '../../platform/database';
import { createShardRouter, type ShardRouter } from '../../platform/shards/router';
import { sqlPoolOf } from '../../platform/sql-pool';
import { createTemporalClient, type TemporalClient } from '../../platform/temporal';
import { createCustomer, createSellerWithProducts } from '../support/catalogue';
import { testConfig } from '../support/platform';

/**
 * api/orders/submit-rehearsal.ts: before it listens, the API runs a submission's code once without
 * effect. One pool connection, so that every statement the rehearsal prepared is on it.
 */
describe('order submission rehearsal', () => {
  const config = testConfig({ DATABASE_POOL_SIZE: '1' });
  let db: Database;
  let temporal: TemporalClient;
  let shards: ShardRouter;

  beforeAll(async () => {
    db = createDatabase(config);
    temporal = createTemporalClient(config);
    shards = createShardRouter({ catalogue: db, database: config.database });
    // Whatever else the shared test database holds, there is a customer and a product to rehearse with.
    await createSellerWithProducts(db);
    await createCustomer(db);
  });

  afterAll(async () => {
    await shards.close();
    await temporal.close();
    await db.$disconnect();
  });

  async function preparedStatements(on: Database): Promise<string[]> {
    const { rows } = await sqlPoolOf(on).query<{ name: string }>('SELECT name FROM pg_prepared_statements');
    return rows.map((row) => row.name);
  }

  /** Every start request the rehearsal sends, and how the server answered it. */
  function watchStarts() {
    const service = temporal.connection.workflowService;
    const starts: { namespace: string; workflowType: string; refusal: unknown }[] = [];
    const original = service.startWorkflowExecution.bind(service);
    const spy = jest.spyOn(service, 'startWorkflowExecution').mockImplementation(async (request) => {
      const entry = {
        namespace: request.namespace ?? '',
        workflowType: request.workflowType?.name ?? '',
        refusal: undefined as unknown,
      };
      starts.push(entry);
      try {
        return await original(request);
      } catch (error) {
        entry.refusal = error;
        throw error;
      }
    });
    return { starts, restore: () => spy.mockRestore() };
  }

  it('runs the key lookup, the claim, pricing and the start request, which a namespace of its own refuses', async () => {
    const watch = watchStarts();
    try {
      await rehearseOrderSubmission({ config, db, temporal, shards });
    } finally {
      watch.restore();
    }

    expect(watch.starts).toEqual([
      {
        namespace: expect.stringMatching(/^shopflow-rehearsal-[0-9a-f-]{36}$/),
        workflowType: ORDER_WORKFLOW_TYPE,
        refusal: expect.anything(),
      },
    ]);
    // gRPC's NOT_FOUND, which the client turns into NamespaceNotFoundError: the rehearsal's expected end.
    expect(watch.starts[0]?.refusal).toMatchObject({ code: 5 });
    expect(await preparedStatements(db)).toEqual(
      expect.arrayContaining(['api-key-authenticate', 'idempotency-claim', 'order-pricing-catalogue']),
    );
    // The key it claimed was abandoned, as a refused request's is.
    expect(await db.idempotencyKey.count({ where: { scope: 'rehearsal' } })).toBe(0);
  });

  it('stops after the key lookup when there is no customer to rehearse with (a fresh database)', async () => {
    const noShards: RehearsalDeps['shards'] = { ...shards, databases: () => Promise.resolve([]) };
    const fresh = createDatabase(config); // a connection of its own, with nothing prepared yet
    const watch = watchStarts();
    try {
      await rehearseOrderSubmission({ config, db: fresh, temporal, shards: noShards });

      expect(watch.starts).toEqual([]);
      expect(await preparedStatements(fresh)).toEqual(['api-key-authenticate']);
    } finally {
      watch.restore();
      await fresh.$disconnect();
    }
  });
});
