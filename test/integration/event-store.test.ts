import { randomUUID } from 'node:crypto';
import { createActivities } from '../../activities';
import { orderEvent, ORDER_AGGREGATE, type OrderEvent, type OrderState } from '../../domain/order-events';
import type { Pool, PoolClient } from 'pg';
import { createDatabase, type Database } from '../../platform/database';
import { sqlPoolKey, sqlPoolOf } from '../../platform/sql-pool';
import {
  appendEvents,
  ConcurrencyError,
  currentVersion,
  loadAggregate,
  type AppendRequest,
  type StoreOptions,
} from '../../events/event-store';
import { createRedis, type RedisClient } from '../../platform/redis';
import { createProviders } from '../../worker/providers';
import { orderWorkflowId } from '../../domain/ids';
import {
  deliverableAddress,
  forwardAndCompensationCalls,
  orderInput,
  seedCustomer,
  seedProduct,
  seedSeller,
} from '../support/order-fixtures';
import { testConfig, shardRouterOn } from '../support/platform';

/**
 * The event store on the real PostgreSQL: optimistic appends, idempotent retries, snapshots that
 * change nothing but speed, time travel, and events that commit with the write model or not at all.
 */
describe('event store', () => {
  let db: Database;
  let redis: RedisClient;

  beforeAll(async () => {
    const config = testConfig();
    db = createDatabase(config);
    redis = createRedis(config, 'shopflow-test-event-store');
    await redis.connect();
  });
  afterAll(async () => {
    await db.$disconnect();
    redis.disconnect();
  });

  const placed = (): OrderEvent =>
    orderEvent('OrderPlaced', {
      customerId: randomUUID(),
      workflowId: 'order-test',
      currency: 'EUR',
      lines: [],
      totals: { itemCount: 0, subtotalMinor: 0, commissionMinor: 0, totalMinor: 0 },
      shippingAddress: deliverableAddress,
    });
  const reserved = (quantity: number): OrderEvent =>
    orderEvent('InventoryReserved', { lines: [{ productId: 'p-1', quantity }] });
  const released = (quantity: number): OrderEvent =>
    orderEvent('InventoryReleased', { lines: [{ productId: 'p-1', quantity }] });

  function append(aggregateId: string, expectedVersion: number, events: OrderEvent[], options: StoreOptions = {}) {
    const request: AppendRequest = {
      aggregateType: ORDER_AGGREGATE,
      aggregateId,
      expectedVersion,
      events,
      correlation: { workflowId: 'order-test', activity: 'test', causationKey: `step-${randomUUID()}` },
    };
    return db.$transaction((tx) => appendEvents(tx, request, options));
  }

  async function rowsOf(aggregateId: string) {
    return {
      events: await db.domainEvent.count({ where: { aggregateId } }),
      outbox: await db.outboxEvent.count({ where: { aggregateId } }),
    };
  }

  it('an append on a stale version is a ConcurrencyError naming the aggregate and both versions', async () => {
    const id = randomUUID();
    await append(id, 0, [placed()]);

    const stale = append(id, 0, [reserved(1)]);

    await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(stale).rejects.toMatchObject({ aggregateId: id, expectedVersion: 0, actualVersion: 1 });
    expect(await rowsOf(id)).toEqual({ events: 1, outbox: 1 });
  });

  it('of two writers racing on one version, one wins and the other gets a ConcurrencyError', async () => {
    const id = randomUUID();
    await append(id, 0, [placed()]);

    const outcomes = await Promise.allSettled([append(id, 1, [reserved(1)]), append(id, 1, [reserved(2)])]);

    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const lost = outcomes.find((o) => o.status === 'rejected');
    expect(lost?.status === 'rejected' && lost.reason).toBeInstanceOf(ConcurrencyError);
    expect(await currentVersion(db, id)).toBe(2);
    expect(await rowsOf(id)).toEqual({ events: 2, outbox: 2 });
  });

  it('a retried append with the same causation key appends nothing and returns the first events', async () => {
    const id = randomUUID();
    const request: AppendRequest = {
      aggregateType: ORDER_AGGREGATE,
      aggregateId: id,
      expectedVersion: 0,
      events: [placed(), reserved(3)],
      correlation: { workflowId: 'order-x', runId: 'run-1', activity: 'recordOrder', causationKey: 'order-x:record' },
    };
    const first = await db.$transaction((tx) => appendEvents(tx, request));

    const retry = await db.$transaction((tx) => appendEvents(tx, { ...request, expectedVersion: 2 }));

    expect(first).toMatchObject({ appended: true, version: 2 });
    expect(retry).toMatchObject({ appended: false, version: 2 });
    expect(retry.events.map((e) => e.eventId)).toEqual(first.events.map((e) => e.eventId));
    expect(await rowsOf(id)).toEqual({ events: 2, outbox: 2 });
    const outbox = await db.outboxEvent.findMany({ where: { aggregateId: id }, orderBy: { version: 'asc' } });
    expect(outbox.map((o) => [o.version, o.eventType, o.stream, o.status])).toEqual([
      [1, 'OrderPlaced', `shopflow:events:${ORDER_AGGREGATE}`, 'PENDING'],
      [2, 'InventoryReserved', `shopflow:events:${ORDER_AGGREGATE}`, 'PENDING'],
    ]);
  });

  it('a long aggregate rebuilt from snapshots equals the rebuild from all events, at every version', async () => {
    const id = randomUUID();
    const options = { snapshotEvery: 100 };
    const events: OrderEvent[] = [placed()];
    for (let i = 1; i < 350; i += 1) events.push(i % 2 === 1 ? reserved(i) : released(i));
    // Uneven batches, so snapshot boundaries fall inside an append as well as at its end.
    let version = 0;
    for (const size of batchSizes(events.length)) {
      await append(id, version, events.slice(version, version + size), options);
      version += size;
    }

    const snapshots = await db.aggregateSnapshot.findMany({ where: { aggregateId: id }, orderBy: { version: 'asc' } });
    expect(snapshots.map((s) => s.version)).toEqual([100, 200, 300]);
    for (let v = 1; v <= 350; v += 1) {
      const withSnapshots = await loadAggregate<OrderState>(db, ORDER_AGGREGATE, id, { asOfVersion: v });
      const fromAllEvents = await loadAggregate<OrderState>(db, ORDER_AGGREGATE, id, {
        asOfVersion: v,
        useSnapshots: false,
      });
      expect({ v, state: withSnapshots }).toEqual({ v, state: fromAllEvents });
      expect(withSnapshots?.version).toBe(v);
    }
    const latest = await loadAggregate<OrderState>(db, ORDER_AGGREGATE, id);
    expect(latest?.version).toBe(350);
    expect(latest?.state.inventory).toEqual({ hold: 'RESERVED', lines: [{ productId: 'p-1', quantity: 349 }] });
  });

  it('as of a time, an aggregate is what its events up to then made it', async () => {
    const id = randomUUID();
    const before = new Date();
    await sleep(5);
    const times: Date[] = [];
    const steps = [placed(), reserved(2), released(2)];
    for (const [index, event] of steps.entries()) {
      await append(id, index, [event]);
      times.push(new Date());
      await sleep(5);
    }

    expect(await loadAggregate(db, ORDER_AGGREGATE, id, { asOfTime: before })).toBeUndefined();
    const asOf = await Promise.all(
      times.map((asOfTime) => loadAggregate<OrderState>(db, ORDER_AGGREGATE, id, { asOfTime })),
    );
    expect(asOf.map((a) => [a?.version, a?.state.status, a?.state.inventory.hold])).toEqual([
      [1, 'PENDING', 'NONE'],
      [2, 'INVENTORY_RESERVED', 'RESERVED'],
      [3, 'INVENTORY_RESERVED', 'RELEASED'],
    ]);
  });

  it('an activity that fails after writing leaves no rows, no events and no outbox rows', async () => {
    const product = await seedProduct(db, await seedSeller(db), { stock: 5 });
    const input = orderInput(await seedCustomer(db), [product], [{ productId: product.id, quantity: 1 }]);
    // The worker dies after the activity's writes, before its transaction commits.
    const crashing = new Proxy(db, {
      get(target, property, receiver) {
        if (property === sqlPoolKey) return poolCrashingBeforeCommit(sqlPoolOf(target));
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const activities = createActivities({
      db: crashing,
      redis,
      shards: shardRouterOn(crashing),
      ...createProviders(testConfig(), redis),
    });
    const recordOrder = () =>
      activities.recordOrder({
        orderId: input.orderId,
        workflowId: `order-${input.orderId}`,
        customerId: input.customerId,
        order: input.order,
        shippingAddress: input.shippingAddress,
      });

    await expect(recordOrder()).rejects.toThrow('worker crashed before commit');

    expect(await db.order.count({ where: { id: input.orderId } })).toBe(0);
    expect(await rowsOf(input.orderId)).toEqual({ events: 0, outbox: 0 });
  });

  it('each order activity appends its events with the change, once however often it runs', async () => {
    const activities = createActivities({
      db,
      redis,
      shards: shardRouterOn(db),
      ...createProviders(testConfig(), redis),
    });
    const product = await seedProduct(db, await seedSeller(db), { stock: 9, priceMinor: 700 });
    const input = orderInput(await seedCustomer(db), [product], [{ productId: product.id, quantity: 4 }]);
    const { orderId, order } = input;
    const workflowId = orderWorkflowId(orderId);
    const lines = [{ productId: product.id, quantity: 4 }];
    const steps = forwardAndCompensationCalls(activities, input).map(([, call]) => call);
    for (const step of steps) {
      await step();
      await step();
    }

    const events = await db.domainEvent.findMany({ where: { aggregateId: orderId }, orderBy: { version: 'asc' } });
    expect(events.map((e) => [e.version, e.eventType])).toEqual([
      [1, 'OrderPlaced'],
      [2, 'InventoryReserved'],
      [3, 'PaymentCaptured'],
      [4, 'ShipmentsCreated'],
      [5, 'ShipmentsCancelled'],
      [6, 'PaymentRefunded'],
      [7, 'InventoryReleased'],
    ]);
    expect(events.every((e) => e.workflowId === workflowId && e.causationKey?.startsWith(workflowId))).toBe(true);
    expect(await rowsOf(orderId)).toEqual({ events: 7, outbox: 7 });
    const rebuilt = await loadAggregate<OrderState>(db, ORDER_AGGREGATE, orderId);
    const row = await db.order.findUniqueOrThrow({ where: { id: orderId } });
    expect(rebuilt?.state).toMatchObject({
      status: row.status,
      payment: { status: 'REFUNDED', amountMinor: order.totalMinor },
      inventory: { hold: 'RELEASED', lines },
    });
  });
});

/** 1, 2, 3 … events per append, then whatever is left. */
function batchSizes(total: number): number[] {
  const sizes: number[] = [];
  for (let size = 1, left = total; left > 0; size = (size % 13) + 1) {
    sizes.push(Math.min(size, left));
    left -= Math.min(size, left);
  }
  return sizes;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A pool whose transactions die at COMMIT, as when the worker is killed between its writes and the commit. */
function poolCrashingBeforeCommit(pool: Pool): Pool {
  const crashAtCommit = (client: PoolClient): PoolClient =>
    new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'query') return Reflect.get(target, property, receiver) as unknown;
        return (query: unknown, ...rest: unknown[]) => {
          if (query === 'COMMIT') return Promise.reject(new Error('worker crashed before commit'));
          return (target.query as (...args: unknown[]) => unknown)(query, ...rest);
        };
      },
    });
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property !== 'connect') return Reflect.get(target, property, receiver) as unknown;
      return async () => crashAtCommit(await target.connect());
    },
  });
}
