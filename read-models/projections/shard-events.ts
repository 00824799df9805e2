import { ORDER_AGGREGATE, type OrderEventPayloads } from '../../domain/order-events';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../../platform/database';
import type { ShardRouter } from '../../platform/shards/router';
import { eventsInRanges, type EventRange, type EventReader } from './event-feed';
import type { ProjectedEvent, ShardReads } from './projection';

/**
 * Events that live on shards, for a projector whose read models are all in one read database
 * (docs/sharding.md, "Read models from every shard").
 *
 * A stream entry still only says that an aggregate reached a version; the events themselves are
 * read from the event store that holds them, as with one database. The read database's own store
 * is asked first, inside the projector's transaction, exactly as before: with one database that is
 * all there is, and it answers for everything it holds (products, customers not moved away).
 * What it does not hold whole is read on the aggregate's shard, which the router finds by the
 * aggregate's partition key: an order's is `customer:{customerId}`, from its OrderPlaced, learned
 * from the stream entry of version 1 or remembered in the projection positions. An aggregate whose
 * key is unknown (its first entry lost, or positions older than the key) or that is not whole where
 * the router says (moved a moment ago, the router's map up to its staleness old) is looked for on
 * every other database of the map, one query each for all such aggregates of the round.
 *
 * Events are immutable and a move copies a customer's events whole before it flips the map and
 * deletes them on the source, so any store that holds a range whole holds the right events. A
 * range whole nowhere (read from both ends of a move at the wrong moments) fails the round, which
 * the stream reader retries.
 */

export interface ShardEvents {
  router: ShardRouter;
  /** The projector's own client: the router's catalogue database, where the read models are. */
  readDb: Database;
}

/** Some aggregates' events were not found whole in any store of the shard map. */
export class EventsNotFoundError extends Error {
  constructor(readonly aggregateIds: readonly string[]) {
    super(
      `events of ${aggregateIds.length} aggregate(s) not found whole on any shard (moving?): ` +
        aggregateIds.slice(0, 5).join(', '),
    );
    this.name = 'EventsNotFoundError';
  }
}

/** The partition key an event names for its aggregate: an order's customer, in its OrderPlaced. */
export function partitionKeyOf(event: { aggregateType: string; type: string; payload: unknown }): string | undefined {
  if (event.aggregateType !== ORDER_AGGREGATE || event.type !== 'OrderPlaced') return undefined;
  const customerId = (event.payload as Partial<OrderEventPayloads['OrderPlaced']> | null)?.customerId;
  return typeof customerId === 'string' && customerId.length > 0 ? customerPartitionKey(customerId) : undefined;
}

/** Partition keys named by these events, by aggregate id. */
export function partitionKeysOf(
  events: readonly { aggregateId: string; aggregateType: string; type: string; payload: unknown }[],
): Map<string, string> {
  const keys = new Map<string, string>();
  for (const event of events) {
    const key = partitionKeyOf(event);
    if (key) keys.set(event.aggregateId, key);
  }
  return keys;
}

/**
 * Puts the ranges found whole in `events` into `whole` (each aggregate's events of its range, in
 * version order) and returns the ranges that are not.
 */
function takeWhole(
  ranges: readonly EventRange[],
  events: readonly ProjectedEvent[],
  whole: Map<string, ProjectedEvent[]>,
): EventRange[] {
  const byAggregate = new Map<string, ProjectedEvent[]>();
  for (const event of events) {
    const list = byAggregate.get(event.aggregateId);
    if (list) list.push(event);
    else byAggregate.set(event.aggregateId, [event]);
  }
  const missing: EventRange[] = [];
  for (const range of ranges) {
    if (whole.has(range.aggregate_id)) continue;
    const mine = (byAggregate.get(range.aggregate_id) ?? [])
      .filter((e) => e.version > range.after && e.version <= range.upto)
      .sort((a, b) => a.version - b.version);
    // Versions are unique per store, so as many as the range holds means all of them.
    if (mine.length === range.upto - range.after) whole.set(range.aggregate_id, mine);
    else missing.push(range);
  }
  return missing;
}

/** Each range's events if `events` hold it whole, in version order; the ranges not held whole left out. */
export function wholeRuns(ranges: readonly EventRange[], events: readonly ProjectedEvent[]): ProjectedEvent[] {
  const whole = new Map<string, ProjectedEvent[]>();
  takeWhole(ranges, events, whole);
  return ranges.flatMap((range) => whole.get(range.aggregate_id) ?? []);
}

/** The client of the shard that holds `partitionKey` now (as of the router's map). */
async function shardOf(router: ShardRouter, partitionKey: string): Promise<Database> {
  return router.database((await router.shardFor(partitionKey)).shardId);
}

/** Reads each database's ranges, all databases at once, and takes what is whole. */
async function readFrom(
  asks: ReadonlyMap<Database, EventRange[]>,
  whole: Map<string, ProjectedEvent[]>,
): Promise<void> {
  const answers = await Promise.all(
    [...asks].map(async ([db, ranges]) => [ranges, await eventsInRanges(db, ranges)] as const),
  );
  for (const [ranges, events] of answers) takeWhole(ranges, events, whole);
}

/**
 * The events of `ranges`, given what the read database's own store returned for them (`local`).
 * When `local` holds every range whole it is returned as it is, at no further cost (`fromShards`
 * false): always so with one database. The other ranges are read on their shard, then on every
 * other database of the map; EventsNotFoundError when some range is whole nowhere. Each
 * aggregate's events come in version order.
 */
export async function completeFromShards(
  shards: ShardEvents,
  ranges: readonly EventRange[],
  local: readonly ProjectedEvent[],
  partitionKeys: ReadonlyMap<string, string>,
): Promise<{ events: readonly ProjectedEvent[]; fromShards: boolean }> {
  const whole = new Map<string, ProjectedEvent[]>();
  let missing = takeWhole(ranges, local, whole);
  if (missing.length === 0) return { events: local, fromShards: false };
  const { router, readDb } = shards;

  const routed = new Map<Database, EventRange[]>();
  for (const range of missing) {
    const key = partitionKeys.get(range.aggregate_id);
    if (!key) continue;
    const db = await shardOf(router, key);
    if (db !== readDb) routed.set(db, [...(routed.get(db) ?? []), range]);
  }
  await readFrom(routed, whole);
  missing = missing.filter((range) => !whole.has(range.aggregate_id));

  if (missing.length > 0) {
    const everywhere = (await router.databases()).filter((db) => db !== readDb);
    await readFrom(new Map(everywhere.map((db) => [db, missing])), whole);
    missing = missing.filter((range) => !whole.has(range.aggregate_id));
  }
  if (missing.length > 0) throw new EventsNotFoundError(missing.map((range) => range.aggregate_id));
  return { events: ranges.flatMap((range) => whole.get(range.aggregate_id) ?? []), fromShards: true };
}

/** The events of `ranges`: read in the read database's transaction `tx` first, then on the shards (completeFromShards). */
export async function eventsEverywhere(
  shards: ShardEvents,
  tx: EventReader,
  ranges: readonly EventRange[],
  partitionKeys: ReadonlyMap<string, string>,
): Promise<readonly ProjectedEvent[]> {
  if (ranges.length === 0) return [];
  return (await completeFromShards(shards, ranges, await eventsInRanges(tx, ranges), partitionKeys)).events;
}

/** What a projection reads on shards during one transaction `tx` of the read database (ProjectionContext.shards). */
export function shardReads(
  shards: ShardEvents,
  tx: EventReader,
  partitionKeys: ReadonlyMap<string, string>,
): ShardReads {
  const { router, readDb } = shards;
  return {
    async eventsUpTo(reached) {
      const ranges = [...reached].map(([aggregate_id, upto]) => ({ aggregate_id, after: 0, upto }));
      return eventsEverywhere(shards, tx, ranges, partitionKeys);
    },
    async readByShard(partitionKeys, read, options = {}) {
      if (options.freshMap) await router.refresh();
      const byDatabase = new Map<Database, string[]>();
      for (const key of new Set(partitionKeys)) {
        const db = await shardOf(router, key);
        byDatabase.set(db, [...(byDatabase.get(db) ?? []), key]);
      }
      const rows = await Promise.all([...byDatabase].map(([db, keys]) => read(db === readDb ? tx : db, keys)));
      return rows.flat();
    },
  };
}
