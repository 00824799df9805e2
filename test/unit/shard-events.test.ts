import { randomUUID } from 'node:crypto';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../../platform/database';
import type { ShardRouter } from '../../platform/shards/router';
import { eventsInRanges, type EventRange } from '../../read-models/projections/event-feed';
import type { ProjectedEvent } from '../../read-models/projections/projection';
import {
  completeFromShards,
  EventsNotFoundError,
  partitionKeyOf,
  type ShardEvents,
} from '../../read-models/projections/shard-events';

/**
 * Where the projector finds an aggregate's events when customers are on shards, with event stores
 * in memory: the read database's first (and nothing else asked when it holds them whole), then the
 * shard the router names, then every other database; never a range that is not whole.
 */

interface Store {
  db: Database;
  /** How many reads reached it. */
  reads(): number;
}

/** A store holding `versions` of each aggregate, answering the event feed's range query. */
function store(holdings: Record<string, number[]>): Store {
  let reads = 0;
  const db = {
    $queryRawUnsafe: (_sql: string, rangesJson: string) => {
      reads++;
      const ranges = JSON.parse(rangesJson) as EventRange[];
      return Promise.resolve(
        ranges.flatMap((r) =>
          (holdings[r.aggregate_id] ?? [])
            .filter((v) => v > r.after && v <= r.upto)
            .map((version) => ({
              id: randomUUID(),
              aggregate_type: 'order',
              aggregate_id: r.aggregate_id,
              version,
              event_type: version === 1 ? 'OrderPlaced' : 'Something',
              payload: {},
              occurred_at: new Date(),
              position: BigInt(version),
            })),
        ),
      );
    },
  } as unknown as Database;
  return { db, reads: () => reads };
}

/** A router over named stores that routes every key to `routeTo` (a map as stale as one likes). */
function router(stores: Record<string, Store>, routeTo: () => string): ShardRouter & { routed(): number } {
  let routed = 0;
  return {
    shardFor: (partitionKey: string) => {
      routed++;
      return Promise.resolve({ partitionKey, shardId: routeTo() });
    },
    database: (shardId: string) => Promise.resolve(stores[shardId]!.db),
    databases: () => Promise.resolve(Object.values(stores).map((s) => s.db)),
    routed: () => routed,
  } as unknown as ShardRouter & { routed(): number };
}

const order = randomUUID();
const key = customerPartitionKey(randomUUID());
const ranges: EventRange[] = [{ aggregate_id: order, after: 0, upto: 3 }];

/** What the read database's own store returns for the ranges (the projector's first read). */
function localEvents(local: Store): Promise<ProjectedEvent[]> {
  return eventsInRanges(local.db, ranges);
}

describe('completeFromShards', () => {
  it('asks nothing more when the read database holds every range whole (one database)', async () => {
    const local = store({ [order]: [1, 2, 3] });
    const shards = { catalogue: local };
    const r = router(shards, () => 'catalogue');
    const found = await completeFromShards(
      { router: r, readDb: local.db },
      ranges,
      await localEvents(local),
      new Map(),
    );
    expect(found.fromShards).toBe(false);
    expect(found.events.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(r.routed()).toBe(0);
    expect(local.reads()).toBe(1);
  });

  it("reads the range on the shard the router names for the aggregate's partition key", async () => {
    const local = store({});
    const stores = { catalogue: local, 'shard-1': store({ [order]: [1, 2, 3] }), 'shard-2': store({}) };
    const shards: ShardEvents = { router: router(stores, () => 'shard-1'), readDb: local.db };
    const found = await completeFromShards(shards, ranges, await localEvents(local), new Map([[order, key]]));
    expect(found).toMatchObject({ fromShards: true });
    expect(found.events.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(stores['shard-2'].reads()).toBe(0);
  });

  it('looks on every other database when the key is unknown or the named shard no longer holds it whole', async () => {
    for (const keys of [new Map<string, string>(), new Map([[order, key]])]) {
      const local = store({});
      // The customer moved: the source kept a prefix until its delete, the target has it all.
      const stores = { catalogue: local, source: store({ [order]: [1, 2] }), target: store({ [order]: [1, 2, 3] }) };
      const shards: ShardEvents = { router: router(stores, () => 'source'), readDb: local.db };
      const found = await completeFromShards(shards, ranges, await localEvents(local), keys);
      expect(found.events.map((e) => e.version)).toEqual([1, 2, 3]);
    }
  });

  it('fails the round when no store holds the range whole, rather than apply a gap', async () => {
    const local = store({ [order]: [1] });
    const stores = { catalogue: local, 'shard-1': store({ [order]: [1, 2] }) };
    const shards: ShardEvents = { router: router(stores, () => 'shard-1'), readDb: local.db };
    await expect(
      completeFromShards(shards, ranges, await localEvents(local), new Map([[order, key]])),
    ).rejects.toBeInstanceOf(EventsNotFoundError);
  });
});

describe('partitionKeyOf', () => {
  it("is an order's customer, named by its OrderPlaced, and nothing for other events", () => {
    const customerId = randomUUID();
    expect(partitionKeyOf({ aggregateType: 'order', type: 'OrderPlaced', payload: { customerId } })).toBe(
      customerPartitionKey(customerId),
    );
    expect(
      partitionKeyOf({ aggregateType: 'order', type: 'PaymentCaptured', payload: { customerId } }),
    ).toBeUndefined();
    expect(partitionKeyOf({ aggregateType: 'product', type: 'ProductCreated', payload: {} })).toBeUndefined();
    expect(partitionKeyOf({ aggregateType: 'order', type: 'OrderPlaced', payload: {} })).toBeUndefined();
  });
});
