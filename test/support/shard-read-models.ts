import pino from 'pino';
import { isDeepStrictEqual } from 'node:util';
import type { OrderEventPayloads } from '../../domain/order-events';
import { runShardRelays } from '../../events/shard-relays';
import { loadConfig } from '../../platform/config';
import type { Database } from '../../platform/database';
import type { ShardRouter } from '../../platform/shards/router';
import { projections } from '../../read-models/projections';
import { foldOrderRow, type OrderReadRow } from '../../read-models/projections/orders-read';
import { startProjector, type RunningProjector } from '../../read-models/projections/runner';
import { normalized, readOrderRows } from './order-history';
import type { RedisClient } from '../../platform/redis';
import { testRedis } from './redis';

/**
 * The read side of a sharded deployment in tests: the relay over every database of the shard map
 * and a projector reading every shard, in process; and what the read models must hold, folded in
 * memory from every shard's events (each order's events read where they are, a copy counted once).
 */

export interface ShardedReadSide {
  stopRelay(): Promise<void>;
  startRelay(): void;
  startProjector(): Promise<void>;
  stopProjector(): Promise<void>;
  stop(): Promise<void>;
}

export function shardedReadSide(options: {
  catalogue: Database;
  catalogueUrl: string;
  router: ShardRouter;
  redisUrl: string;
}): ShardedReadSide {
  let relay: { stop: AbortController; done: Promise<void>; redis: RedisClient } | undefined;
  let projector: RunningProjector | undefined;
  const side: ShardedReadSide = {
    startRelay() {
      const stop = new AbortController();
      const redis = testRedis(options.redisUrl);
      const done = runShardRelays({
        catalogueUrl: options.catalogueUrl,
        poolSize: 2,
        redis,
        settings: { ...loadConfig({}).relay, pollIntervalMs: 100 },
        logger: pino({ level: 'silent' }),
        signal: stop.signal,
        mapCheckMs: 500,
      });
      relay = { stop, done, redis };
    },
    async stopRelay() {
      relay?.stop.abort();
      await relay?.done;
      relay?.redis.disconnect();
      relay = undefined;
    },
    async startProjector() {
      projector = startProjector({
        db: options.catalogue,
        projections,
        connectRedis: () => testRedis(options.redisUrl),
        consumer: 'shard-read-models-test',
        blockMs: 100,
        retryDelayMs: 200,
        shardRouter: options.router,
      });
      await projector.ready;
    },
    async stopProjector() {
      await projector?.stop();
      projector = undefined;
    },
    async stop() {
      await side.stopProjector();
      await side.stopRelay();
    },
  };
  return side;
}

interface FoldedEvent {
  aggregateId: string;
  version: number;
  type: string;
  payload: unknown;
  occurredAt: Date;
}

/** Every order event of these databases, each (order, version) once, in version order per order. */
export async function orderEventsOf(databases: readonly Database[]): Promise<FoldedEvent[]> {
  const seen = new Map<string, FoldedEvent>();
  for (const db of databases) {
    const rows = await db.$queryRawUnsafe<
      { aggregate_id: string; version: number; event_type: string; payload: unknown; occurred_at: Date }[]
    >(
      `SELECT aggregate_id::text, version, event_type, payload, occurred_at FROM domain_events
       WHERE aggregate_type = 'order'`,
    );
    for (const r of rows) {
      seen.set(`${r.aggregate_id}:${r.version}`, {
        aggregateId: r.aggregate_id,
        version: r.version,
        type: r.event_type,
        payload: r.payload,
        occurredAt: r.occurred_at,
      });
    }
  }
  return [...seen.values()].sort((a, b) => a.aggregateId.localeCompare(b.aggregateId) || a.version - b.version);
}

/** What every read model the order events feed must hold, and what it holds. */
export interface ReadModelsComparison {
  expected: { orders: Record<string, unknown>; sellers: Record<string, SellerFigures>; sales: Record<string, number> };
  actual: { orders: Record<string, unknown>; sellers: Record<string, SellerFigures>; sales: Record<string, number> };
  equal: boolean;
}

interface SellerFigures {
  total_orders: number;
  pending_orders: number;
  paid_orders: number;
  total_revenue_minor: string;
}

/**
 * Folds every order event of `shards` (and the catalogue's) and reads the read database:
 * - orders_read: each order's events folded with `foldOrderRow`, customers' names from wherever
 *   the customer is, sellers' from the catalogue;
 * - seller_dashboard_view: per seller, orders with a line of theirs, those not final, those paid and
 *   not refunded, and the revenue of the latter (their lines' totals);
 * - product_search_view: per product with a search row, the units shipped (a shipment of the
 *   line's seller created, less those cancelled).
 */
export async function compareReadModels(
  catalogue: Database,
  shards: readonly Database[],
): Promise<ReadModelsComparison> {
  const databases = [catalogue, ...shards];
  const events = await orderEventsOf(databases);
  const customers = new Map<string, { name: string; email: string }>();
  for (const db of databases) {
    for (const c of await db.customer.findMany()) customers.set(c.id, { name: c.name, email: c.email });
  }
  const sellers = new Map((await catalogue.seller.findMany()).map((s) => [s.id, s.name]));

  const rows = new Map<string, OrderReadRow>();
  type Fact = { gross: number; final: boolean; paid: boolean; refunded: boolean };
  const facts = new Map<string, Map<string, Fact>>();
  const linesOf = new Map<string, OrderEventPayloads['OrderPlaced']['lines']>();
  const shipmentSeller = new Map<string, string>();
  const sales = new Map<string, number>();
  for (const e of events) {
    const row = foldOrderRow(rows.get(e.aggregateId), e, { customers, sellers });
    if (row) rows.set(e.aggregateId, row);
    const ofOrder = [...(facts.get(e.aggregateId)?.values() ?? [])];
    switch (e.type) {
      case 'OrderPlaced': {
        const placed = e.payload as OrderEventPayloads['OrderPlaced'];
        linesOf.set(e.aggregateId, placed.lines);
        const bySeller = new Map<string, Fact>();
        for (const line of placed.lines) {
          const fact = bySeller.get(line.sellerId) ?? { gross: 0, final: false, paid: false, refunded: false };
          bySeller.set(line.sellerId, { ...fact, gross: fact.gross + line.lineTotalMinor });
        }
        facts.set(e.aggregateId, bySeller);
        break;
      }
      case 'PaymentCaptured':
        for (const fact of ofOrder) fact.paid = true;
        break;
      case 'PaymentRefunded':
        for (const fact of ofOrder) fact.refunded = true;
        break;
      case 'OrderDelivered':
      case 'OrderFailed':
      case 'OrderCancelled':
        for (const fact of ofOrder) fact.final = true;
        break;
      case 'ShipmentsCreated':
      case 'ShipmentsCancelled': {
        const created = e.type === 'ShipmentsCreated';
        const sellerIds = new Set(
          created
            ? (e.payload as OrderEventPayloads['ShipmentsCreated']).shipments.map((s) => {
                shipmentSeller.set(s.shipmentId, s.sellerId);
                return s.sellerId;
              })
            : (e.payload as OrderEventPayloads['ShipmentsCancelled']).shipmentIds.flatMap(
                (id) => shipmentSeller.get(id) ?? [],
              ),
        );
        for (const line of linesOf.get(e.aggregateId) ?? []) {
          if (!sellerIds.has(line.sellerId)) continue;
          sales.set(line.productId, (sales.get(line.productId) ?? 0) + (created ? line.quantity : -line.quantity));
        }
        break;
      }
    }
  }

  const bySeller = new Map<string, { total: number; pending: number; paid: number; revenue: bigint }>();
  for (const orderFacts of facts.values()) {
    for (const [sellerId, fact] of orderFacts) {
      const figures = bySeller.get(sellerId) ?? { total: 0, pending: 0, paid: 0, revenue: 0n };
      const paid = fact.paid && !fact.refunded;
      bySeller.set(sellerId, {
        total: figures.total + 1,
        pending: figures.pending + (fact.final ? 0 : 1),
        paid: figures.paid + (paid ? 1 : 0),
        revenue: figures.revenue + (paid ? BigInt(fact.gross) : 0n),
      });
    }
  }
  const expectedSellers: Record<string, SellerFigures> = {};
  for (const [sellerId, f] of [...bySeller].sort(([a], [b]) => a.localeCompare(b))) {
    expectedSellers[sellerId] = {
      total_orders: f.total,
      pending_orders: f.pending,
      paid_orders: f.paid,
      total_revenue_minor: f.revenue.toString(),
    };
  }

  const actualSellers: Record<string, SellerFigures> = {};
  const dashboard = await catalogue.$queryRawUnsafe<(SellerFigures & { seller_id: string })[]>(
    `SELECT seller_id::text, total_orders, pending_orders, paid_orders, total_revenue_minor::text
     FROM read_models.seller_dashboard_view WHERE total_orders > 0 ORDER BY seller_id`,
  );
  for (const { seller_id, ...figures } of dashboard) actualSellers[seller_id] = figures;

  const searchRows = await catalogue.$queryRawUnsafe<{ product_id: string; sales_count: number }[]>(
    `SELECT product_id::text, sales_count FROM read_models.product_search_view ORDER BY product_id`,
  );
  const actualSales: Record<string, number> = {};
  const expectedSales: Record<string, number> = {};
  for (const { product_id, sales_count } of searchRows) {
    actualSales[product_id] = sales_count;
    expectedSales[product_id] = sales.get(product_id) ?? 0;
  }

  const expected = { orders: normalized(rows), sellers: expectedSellers, sales: expectedSales };
  const actual = { orders: normalized(await readOrderRows(catalogue)), sellers: actualSellers, sales: actualSales };
  return { expected, actual, equal: isDeepStrictEqual(expected, actual) };
}

/** Compares until the read models equal the fold or `timeoutMs` runs out; the last comparison. */
export async function awaitReadModels(
  catalogue: Database,
  shards: readonly Database[],
  timeoutMs: number,
): Promise<ReadModelsComparison> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const comparison = await compareReadModels(catalogue, shards);
    if (comparison.equal || Date.now() > deadline) return comparison;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
