import type { StoredEvent } from '../../events/event-store';
import type { EventReader } from './event-feed';
import type { Tx } from '../../platform/database';

/**
 * The contract of a projection: a read model kept from domain events.
 *
 * A projection is fed in two ways, by one runner (read-models/projections/runner.ts):
 * - live: the relay's Redis streams (one consumer group per projection and aggregate type), one
 *   event per transaction, in each aggregate's version order;
 * - rebuild: every event of its aggregate types from the event store, in the store's global
 *   order (`domain_events.position`), in batches, into fresh shadow tables that are then swapped
 *   in (read-models/projections/rebuild.ts).
 *
 * The runner filters out what a projection has already applied (per aggregate, by version, kept
 * in read_models.projection_positions) and fills gaps from the event store, so `apply` sees each
 * event once, each aggregate's events in version order, and never a later version without the
 * earlier ones. It must not touch any table but its own (through `ctx.table`), apart from reading
 * reference data (names of sellers and customers, current stock) from the write model.
 */

/** An event as the store keeps it (events/event-store.ts), with its place in the store's global order. */
export type ProjectedEvent = Omit<StoredEvent, 'correlation'> & {
  /** The event store's global position. */
  position: bigint;
};

export interface ProjectionContext {
  tx: Tx;
  /**
   * The qualified name of one of the projection's tables, e.g. `table('orders_read')` is
   * `read_models.orders_read` live and `read_models.orders_read__rebuild` during a rebuild.
   * Always build SQL with it: never write a read-model table name by hand.
   */
  table(name: string): string;
  /** True while rebuilding (the batch may be thousands of events; no cache tags are needed). */
  rebuilding: boolean;
  /**
   * Set when the projector reads every shard (read-models/projections/shard-events.ts): for what a
   * projection needs beyond its batch that lives with a customer's order data, not in the read
   * database. Undefined with one database, where `tx` reads everything.
   */
  shards?: ShardReads;
}

/** Reads of order-side data wherever the shard map puts it, for projections. */
export interface ShardReads {
  /** Each aggregate's events from version 1 up to the one given, in version order, from whichever store holds them. */
  eventsUpTo(reached: ReadonlyMap<string, number>): Promise<readonly ProjectedEvent[]>;
  /**
   * Runs a read on the database of each partition key's shard, once per database with the keys it
   * holds (the read database's through `tx`), and returns every row. `freshMap` reads the shard map
   * first: for a second look at what the first did not find (a customer moved a moment ago).
   */
  readByShard<R>(
    partitionKeys: readonly string[],
    read: (reader: EventReader, keys: string[]) => Promise<R[]>,
    options?: { freshMap?: boolean },
  ): Promise<R[]>;
}

export interface Projection {
  /** Also the consumer group's and the positions' name, e.g. `orders_read`. */
  name: string;
  /** The aggregate types it consumes (one stream each: `shopflow:events:<type>`). */
  aggregateTypes: readonly string[];
  /** Its tables in the `read_models` schema, unqualified. A rebuild recreates and swaps all of them. */
  tables: readonly string[];
  /**
   * True when its rows combine many aggregates (a seller's totals, facet counts) and are updated by
   * read-then-write: two live transactions interleaving would each compute from a snapshot without
   * the other's change, and the last commit would drop the first. Its live appliers then take the
   * projection's lock exclusively, one transaction at a time. Per-aggregate rows need not.
   */
  serialized?: boolean;
  /**
   * Applies events (one live, up to a batch when rebuilding) in the caller's transaction and
   * returns the cache tags whose entries the change makes stale (e.g. `order:<id>`,
   * `customer:<id>`, `seller:<id>`, `product:<id>`). Events it does not care about are ignored.
   */
  apply(events: readonly ProjectedEvent[], ctx: ProjectionContext): Promise<string[]>;
  /**
   * Called once in the swap transaction, after the last batch was applied to the shadow tables and
   * before they are swapped in (`ctx.rebuilding` is true, `ctx.table` names the shadows). For work
   * that is cheaper once over the whole result than per batch, e.g. rows aggregated over many
   * aggregates: `apply` may then only record what they are computed from while rebuilding.
   */
  finishRebuild?(ctx: ProjectionContext): Promise<void>;
}

/** The schema every read model lives in. */
export const READ_MODELS_SCHEMA = 'read_models';

/** `read_models.<table>` or, during a rebuild, its shadow. */
export function qualifiedTable(table: string, shadow = false): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`not a read-model table name: ${table}`);
  return `${READ_MODELS_SCHEMA}.${table}${shadow ? REBUILD_SUFFIX : ''}`;
}

export const REBUILD_SUFFIX = '__rebuild';

/** Cache tags, in one place so that projections and read routes agree on them. */
export const cacheTags = {
  order: (id: string) => `order:${id}`,
  customer: (id: string) => `customer:${id}`,
  seller: (id: string) => `seller:${id}`,
  product: (id: string) => `product:${id}`,
  /** On every entry a projection's tables served: a rebuild invalidates them all at once. */
  projection: (name: string) => `projection:${name}`,
} as const;

/**
 * Read-your-writes. A write's response carries the position of its last event in the
 * `Shopflow-Position` header (`<aggregateType>:<aggregateId>:<version>`); a client sends it back in
 * `Shopflow-Min-Position` and the read waits for its projection to reach it
 * (read-models/projections/consistency.ts).
 */
export const POSITION_HEADER = 'Shopflow-Position';
export const MIN_POSITION_HEADER = 'Shopflow-Min-Position';

export interface EventPosition {
  aggregateType: string;
  aggregateId: string;
  version: number;
}

export function formatPosition(position: EventPosition): string {
  return `${position.aggregateType}:${position.aggregateId}:${position.version}`;
}
