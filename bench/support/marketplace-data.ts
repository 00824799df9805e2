import { Faker, en } from '@faker-js/faker';
import type { Pool, PoolClient } from 'pg';
import { orderWorkflowId } from '../../domain/ids';
import { ORDER_AGGREGATE, type OrderEventPayloads, type OrderEventType } from '../../domain/order-events';
import type { OrderStatus } from '../../domain/order-status';
import { priceOrder, type CatalogueProduct, type PricedOrder } from '../../domain/pricing';
import type { ShippingAddress } from '../../domain/shipping-address';
import { seedCatalogue } from '../../catalogue/seed';
import type { Database } from '../../platform/database';

/**
 * A marketplace with a history, for read-side benchmarks: the catalogue (catalogue/seed.ts:
 * sellers, products with their ProductCreated events; customers are written here) and then orders that already
 * happened, as the event store would hold them (OrderPlaced … OrderDelivered, some failed or
 * cancelled) plus the write-model rows those events describe (orders, order_lines, payments).
 *
 * The orders are imported history: they get no outbox rows (nothing is left to publish), and the
 * catalogue's outbox rows are marked published for the same reason. Read models are then built
 * from the event store by a rebuild, as after an import in production.
 *
 * Fast because set-based: each chunk of orders is a handful of INSERT … SELECT FROM
 * jsonb_to_recordset statements, and the next chunk is planned while the database writes the last.
 * Events are written in time order across orders (an order's lifecycle spans days, so its later
 * events interleave with newer orders'), which is the order `domain_events.position` (filled by
 * its default) then has, as in a store written live.
 *
 * Reproducible: the same seed and `endAt` give the same rows (ids included).
 */

export interface MarketplaceSize {
  sellers: number;
  products: number;
  customers: number;
  orders: number;
  seed: number;
  /** The newest order's placement is about `LIFECYCLE_MS` before this (default: now, to the day). */
  endAt?: Date;
  /** Orders are placed over this many days before `endAt`. */
  days?: number;
  defaultCommissionBps?: number;
  ordersPerChunk?: number;
}

export interface GenerationProgress {
  phase: 'sellers' | 'products' | 'customers' | 'orders';
  done: number;
  total: number;
}

export interface GeneratedMarketplace {
  sellers: number;
  products: number;
  productEvents: number;
  customers: number;
  orders: number;
  orderEvents: number;
  catalogueMs: number;
  ordersMs: number;
}

/** How an order ended (or where it stands): the mix of the generated history. */
export type Outcome = 'placed' | 'reserved' | 'paid' | 'shipped' | 'delivered' | 'failed' | 'cancelled';

const OUTCOME_WEIGHTS: readonly [Outcome, number][] = [
  ['delivered', 0.62],
  ['shipped', 0.08],
  ['paid', 0.05],
  ['reserved', 0.02],
  ['placed', 0.02],
  ['failed', 0.13],
  ['cancelled', 0.08],
];

/** The longest lifecycle (placement to last event): orders placed within this of `endAt` are not. */
const LIFECYCLE_MS = 12 * 86_400_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export async function generateMarketplace(
  db: Database,
  pool: Pool,
  size: MarketplaceSize,
  onProgress: (progress: GenerationProgress) => void = () => undefined,
): Promise<GeneratedMarketplace> {
  let startedAt = performance.now();
  // Customers are written here, not by seedCatalogue: its faker emails collide at tens of
  // thousands of customers (and a skipped duplicate then fails its address's foreign key).
  const seeded = await seedCatalogue(
    db,
    { sellers: size.sellers, products: size.products, customers: 0, maxStock: 500, currency: 'EUR', seed: size.seed },
    onProgress,
  );
  seeded.customers = await insertCustomers(pool, size.customers, size.seed, onProgress);
  // The catalogue is history too: its events were relayed long ago.
  await pool.query(
    `UPDATE outbox_events SET status = 'PUBLISHED', published_at = now() WHERE status = 'PENDING' AND aggregate_type = 'product'`,
  );
  const catalogueMs = performance.now() - startedAt;

  startedAt = performance.now();
  const world = await loadWorld(pool, size.defaultCommissionBps ?? 1_000);
  const orderEvents = await writeOrders(pool, world, size, onProgress);
  await pool.query('ANALYZE');
  return {
    ...seeded,
    orders: size.orders,
    orderEvents,
    catalogueMs: Math.round(catalogueMs),
    ordersMs: Math.round(performance.now() - startedAt),
  };
}

/** Customers with one address each, set-based; emails unique by construction (the index is in them). */
async function insertCustomers(
  pool: Pool,
  count: number,
  seed: number,
  onProgress: (progress: GenerationProgress) => void,
): Promise<number> {
  const faker = new Faker({ locale: [en], seed: seed + 1 });
  const random = seededRandom(seed + 1);
  const perChunk = 5_000;
  onProgress({ phase: 'customers', done: 0, total: count });
  for (let from = 0; from < count; from += perChunk) {
    const rows = Array.from({ length: Math.min(perChunk, count - from) }, (_, i) => {
      const firstName = faker.person.firstName();
      const lastName = faker.person.lastName();
      return {
        id: seededUuid(random),
        name: `${firstName} ${lastName}`,
        email: `${firstName}.${lastName}.${from + i + 1}@customers.example`.toLowerCase(),
        line1: faker.location.streetAddress(),
        city: faker.location.city(),
        postal_code: faker.location.zipCode(),
        country: faker.helpers.arrayElement(['DE', 'FR', 'NL', 'GB', 'ES', 'IT']),
      };
    });
    await pool.query(
      `WITH r AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, name text, email text, line1 text, city text,
           postal_code text, country text)
       ), c AS (
         INSERT INTO customers (id, name, email) SELECT id, name, email FROM r
       )
       INSERT INTO customer_addresses (customer_id, label, recipient, line1, city, postal_code, country)
       SELECT id, 'home', name, line1, city, postal_code, country FROM r`,
      [JSON.stringify(rows)],
    );
    onProgress({ phase: 'customers', done: from + rows.length, total: count });
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// Planning orders (pure, seeded)

export interface WorldCustomer {
  id: string;
  address: ShippingAddress;
}

/** What orders are made of: the catalogue as pricing sees it, and customers with an address. */
export interface World {
  products: CatalogueProduct[];
  catalogue: ReadonlyMap<string, CatalogueProduct>;
  customers: WorldCustomer[];
}

export interface PlannedEvent {
  orderIndex: number;
  orderId: string;
  version: number;
  type: OrderEventType;
  payload: OrderEventPayloads[OrderEventType];
  at: number;
}

export interface PlannedOrder {
  index: number;
  id: string;
  customerId: string;
  outcome: Outcome;
  status: OrderStatus;
  failureReason: string | null;
  priced: PricedOrder;
  address: ShippingAddress;
  placedAt: number;
  updatedAt: number;
  payment: { id: string; amountMinor: number; status: 'CAPTURED' | 'REFUNDED'; at: number } | null;
  events: PlannedEvent[];
}

/** mulberry32: small, fast and good enough to pick products and outcomes reproducibly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A version-4 UUID from the seeded generator. */
function seededUuid(random: () => number): string {
  const hex = Array.from({ length: 4 }, () =>
    Math.floor(random() * 4_294_967_296)
      .toString(16)
      .padStart(8, '0'),
  ).join('');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function outcomeOf(random: () => number): Outcome {
  let r = random();
  for (const [outcome, weight] of OUTCOME_WEIGHTS) {
    if (r < weight) return outcome;
    r -= weight;
  }
  return 'delivered';
}

/**
 * Plans orders one after another, placed evenly over `days` days before `endAt` (each a little
 * after the previous one), each with the events of its outcome at plausible intervals.
 */
export function orderPlanner(
  world: World,
  options: { seed: number; orders: number; endAt: Date; days: number },
): (index: number) => PlannedOrder {
  const random = seededRandom(options.seed);
  const lastPlacement = options.endAt.getTime() - LIFECYCLE_MS;
  const step = (options.days * DAY) / options.orders;
  const firstPlacement = lastPlacement - options.orders * step;

  return (index) => {
    const id = seededUuid(random);
    const customer = pick(random, world.customers);
    const lineCount = between(random, 1, 4);
    const productIds = new Set<string>();
    while (productIds.size < Math.min(lineCount, world.products.length))
      productIds.add(pick(random, world.products).id);
    const items = [...productIds].map((productId) => ({ productId, quantity: between(random, 1, 3) }));
    const result = priceOrder(items, world.catalogue);
    if (!result.ok) throw new Error(`order ${index} cannot be priced: ${result.problems[0]?.message}`);
    const priced = result.order;
    const outcome = outcomeOf(random);
    const placedAt = Math.round(firstPlacement + (index + random() * 0.9) * step);

    const events: PlannedEvent[] = [];
    let at = placedAt;
    const add = <T extends OrderEventType>(type: T, payload: OrderEventPayloads[T], afterMs: number): void => {
      at += Math.max(1, afterMs);
      events.push({ orderIndex: index, orderId: id, version: events.length + 1, type, payload, at });
    };
    const stock = priced.lines.map((l) => ({ productId: l.productId, quantity: l.quantity }));
    add(
      'OrderPlaced',
      {
        customerId: customer.id,
        workflowId: orderWorkflowId(id),
        currency: priced.currency,
        lines: priced.lines,
        totals: {
          itemCount: priced.itemCount,
          subtotalMinor: priced.subtotalMinor,
          commissionMinor: priced.commissionMinor,
          totalMinor: priced.totalMinor,
        },
        shippingAddress: customer.address,
      },
      0,
    );
    let status: OrderStatus = 'PENDING';
    let failureReason: string | null = null;
    let payment: PlannedOrder['payment'] = null;
    const paymentId = seededUuid(random);
    const shipments = priced.sellers.map((s) => ({
      shipmentId: seededUuid(random),
      sellerId: s.sellerId,
      trackingNumber: `TRK-${Math.floor(random() * 1e10)}`,
      carrier: 'sim',
    }));

    if (outcome !== 'placed') {
      add('InventoryReserved', { lines: stock }, between(random, 200, 3_000));
      status = 'INVENTORY_RESERVED';
    }
    if (outcome === 'failed') {
      add('InventoryReleased', { lines: stock }, between(random, 500, 5_000));
      failureReason = pick(random, ['PaymentDeclined', 'PaymentDeclined', 'InsufficientStock']);
      add('OrderFailed', { reason: failureReason }, 50);
      status = 'FAILED';
    }
    if (['paid', 'shipped', 'delivered', 'cancelled'].includes(outcome)) {
      add(
        'PaymentCaptured',
        { paymentId, amountMinor: priced.totalMinor, currency: priced.currency },
        between(random, 500, 8_000),
      );
      payment = { id: paymentId, amountMinor: priced.totalMinor, status: 'CAPTURED', at };
      status = 'PAID';
    }
    if (outcome === 'cancelled') {
      add('PaymentRefunded', { paymentId, amountMinor: priced.totalMinor }, between(random, 10 * MINUTE, 20 * HOUR));
      payment = { ...payment!, status: 'REFUNDED' };
      add('InventoryReleased', { lines: stock }, 100);
      failureReason = 'customer asked';
      add('OrderCancelled', { reason: failureReason }, 50);
      status = 'CANCELLED';
    }
    if (outcome === 'shipped' || outcome === 'delivered') {
      add('ShipmentsCreated', { shipments }, between(random, 1 * HOUR, 2 * DAY));
      status = 'SHIPPED';
    }
    if (outcome === 'delivered') {
      for (const s of shipments) {
        add('ShipmentDelivered', { shipmentId: s.shipmentId, deliveredAt: '' }, between(random, 12 * HOUR, 4 * DAY));
        const delivered = events[events.length - 1]!;
        (delivered.payload as OrderEventPayloads['ShipmentDelivered']).deliveredAt = new Date(
          delivered.at,
        ).toISOString();
      }
      add('OrderDelivered', {}, between(random, 1_000, 10 * MINUTE));
      status = 'DELIVERED';
    }
    return {
      index,
      id,
      customerId: customer.id,
      outcome,
      status,
      failureReason,
      priced,
      address: customer.address,
      placedAt,
      updatedAt: at,
      payment,
      events,
    };
  };
}

// ---------------------------------------------------------------------------------------------
// Writing

/** The catalogue and customers orders are planned from, read back from the database. */
export async function loadWorld(pool: Pool, defaultCommissionBps: number): Promise<World> {
  const { rows: products } = await pool.query<{
    id: string;
    seller_id: string;
    name: string;
    price_minor: string;
    currency: string;
    active: boolean;
    commission_rate_bps: number | null;
  }>(
    `SELECT p.id, p.seller_id, p.name, p.price_minor, p.currency, p.active, s.commission_rate_bps
     FROM products p JOIN sellers s ON s.id = p.seller_id WHERE p.active ORDER BY p.id`,
  );
  const { rows: customers } = await pool.query<{ id: string; address: ShippingAddress }>(
    `SELECT DISTINCT ON (c.id) c.id,
       jsonb_build_object('recipient', a.recipient, 'line1', a.line1, 'city', a.city,
         'postalCode', a.postal_code, 'country', a.country) AS address
     FROM customers c JOIN customer_addresses a ON a.customer_id = c.id ORDER BY c.id, a.created_at, a.id`,
  );
  if (products.length === 0 || customers.length === 0) throw new Error('the catalogue has no products or customers');
  const catalogueProducts = products.map((p): CatalogueProduct => ({
    id: p.id,
    sellerId: p.seller_id,
    name: p.name,
    priceMinor: Number(p.price_minor),
    currency: p.currency,
    active: p.active,
    commissionRateBps: p.commission_rate_bps ?? defaultCommissionBps,
  }));
  return {
    products: catalogueProducts,
    catalogue: new Map(catalogueProducts.map((p) => [p.id, p])),
    customers,
  };
}

/**
 * Plans and writes the orders chunk by chunk. A chunk's events up to its last placement are
 * written (no later order can have an earlier event); the rest wait for the next chunk, so events
 * reach the store in time order. Returns the number of events written.
 */
async function writeOrders(
  pool: Pool,
  world: World,
  size: MarketplaceSize,
  onProgress: (progress: GenerationProgress) => void,
): Promise<number> {
  const endAt = size.endAt ?? new Date(Math.floor(Date.now() / DAY) * DAY);
  const plan = orderPlanner(world, { seed: size.seed, orders: size.orders, endAt, days: size.days ?? 180 });
  const perChunk = size.ordersPerChunk ?? 2_000;
  let waiting: PlannedEvent[] = [];
  let written = 0;
  let writing: Promise<void> = Promise.resolve();
  onProgress({ phase: 'orders', done: 0, total: size.orders });
  for (let from = 0; from < size.orders; from += perChunk) {
    const orders = Array.from({ length: Math.min(perChunk, size.orders - from) }, (_, i) => plan(from + i));
    const last = from + orders.length >= size.orders;
    const horizon = last ? Number.POSITIVE_INFINITY : orders[orders.length - 1]!.placedAt;
    const candidates = waiting.concat(orders.flatMap((o) => o.events));
    candidates.sort((a, b) => a.at - b.at || a.orderIndex - b.orderIndex || a.version - b.version);
    const cut = candidates.findIndex((e) => e.at > horizon);
    const due = cut === -1 ? candidates : candidates.slice(0, cut);
    waiting = cut === -1 ? [] : candidates.slice(cut);
    // The previous chunk is written while this one was planned; chunks are written one at a time,
    // so positions follow the time order across chunks.
    await writing;
    writing = writeChunk(pool, orders, due).then(() => {
      written += due.length;
      onProgress({ phase: 'orders', done: from + orders.length, total: size.orders });
    });
  }
  await writing;
  return written;
}

async function writeChunk(pool: Pool, orders: PlannedOrder[], events: PlannedEvent[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // A benchmark's own database: a crash loses a chunk, never correctness of a finished run.
    await client.query('SET LOCAL synchronous_commit = off');
    await insertOrders(client, orders);
    await insertEvents(client, events);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function insertOrders(client: PoolClient, orders: PlannedOrder[]): Promise<void> {
  await client.query(
    `INSERT INTO orders (id, customer_id, workflow_id, status, currency, item_count, subtotal_minor, commission_minor,
       total_minor, shipping_address, failure_reason, created_at, updated_at)
     SELECT id, customer_id, workflow_id, status, currency, item_count, subtotal_minor, commission_minor,
       total_minor, shipping_address, failure_reason, created_at, updated_at
     FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, customer_id uuid, workflow_id text, status text, currency text,
       item_count int, subtotal_minor bigint, commission_minor bigint, total_minor bigint, shipping_address jsonb,
       failure_reason text, created_at timestamptz, updated_at timestamptz)`,
    [
      JSON.stringify(
        orders.map((o) => ({
          id: o.id,
          customer_id: o.customerId,
          workflow_id: orderWorkflowId(o.id),
          status: o.status,
          currency: o.priced.currency,
          item_count: o.priced.itemCount,
          subtotal_minor: o.priced.subtotalMinor,
          commission_minor: o.priced.commissionMinor,
          total_minor: o.priced.totalMinor,
          shipping_address: o.address,
          failure_reason: o.failureReason,
          created_at: new Date(o.placedAt).toISOString(),
          updated_at: new Date(o.updatedAt).toISOString(),
        })),
      ),
    ],
  );
  await client.query(
    `INSERT INTO order_lines (order_id, line_no, product_id, seller_id, product_name, quantity, unit_price_minor,
       line_total_minor, commission_rate_bps, commission_minor)
     SELECT order_id, line_no, product_id, seller_id, product_name, quantity, unit_price_minor, line_total_minor,
       commission_rate_bps, commission_minor
     FROM jsonb_to_recordset($1::jsonb) AS r(order_id uuid, line_no int, product_id uuid, seller_id uuid,
       product_name text, quantity int, unit_price_minor bigint, line_total_minor bigint, commission_rate_bps int,
       commission_minor bigint)`,
    [
      JSON.stringify(
        orders.flatMap((o) =>
          o.priced.lines.map((l) => ({
            order_id: o.id,
            line_no: l.lineNo,
            product_id: l.productId,
            seller_id: l.sellerId,
            product_name: l.name,
            quantity: l.quantity,
            unit_price_minor: l.unitPriceMinor,
            line_total_minor: l.lineTotalMinor,
            commission_rate_bps: l.commissionRateBps,
            commission_minor: l.commissionMinor,
          })),
        ),
      ),
    ],
  );
  const payments = orders.filter((o) => o.payment !== null);
  if (payments.length === 0) return;
  await client.query(
    `INSERT INTO payments (id, order_id, amount_minor, currency, provider, provider_charge_id, idempotency_key, status,
       created_at)
     SELECT id, order_id, amount_minor, currency, 'sim', 'ch_' || id, 'import:' || order_id || ':payment', status,
       created_at
     FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, order_id uuid, amount_minor bigint, currency text, status text,
       created_at timestamptz)`,
    [
      JSON.stringify(
        payments.map((o) => ({
          id: o.payment!.id,
          order_id: o.id,
          amount_minor: o.payment!.amountMinor,
          currency: o.priced.currency,
          status: o.payment!.status,
          created_at: new Date(o.payment!.at).toISOString(),
        })),
      ),
    ],
  );
}

/** In the given order (WITH ORDINALITY … ORDER BY), so that `position` (its default) follows it. */
async function insertEvents(client: PoolClient, events: PlannedEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(
    `INSERT INTO domain_events (id, aggregate_type, aggregate_id, version, event_type, payload, occurred_at,
       partition_key, stream_id, workflow_id, causation_key)
     SELECT r.id, $2::text, r.aggregate_id, r.version, r.event_type, r.payload, r.occurred_at,
       r.aggregate_id::text, $2::text || '-' || r.aggregate_id, 'order-' || r.aggregate_id,
       'import:' || r.aggregate_id || ':' || r.version
     FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (id uuid, aggregate_id uuid, version int, event_type text,
       payload jsonb, occurred_at timestamptz)) WITH ORDINALITY
       AS r(id, aggregate_id, version, event_type, payload, occurred_at, ord)
     ORDER BY r.ord`,
    [
      JSON.stringify(
        events.map((e) => ({
          id: eventId(e),
          aggregate_id: e.orderId,
          version: e.version,
          event_type: e.type,
          payload: e.payload,
          occurred_at: new Date(e.at).toISOString(),
        })),
      ),
      ORDER_AGGREGATE,
    ],
  );
}

/** Derived from the order id and version, so event ids are as reproducible as the orders'. */
function eventId(event: PlannedEvent): string {
  const version = event.version.toString(16).padStart(4, '0');
  // The order id's last 4 hex digits give way to the version: unique per (order, version).
  return `${event.orderId.slice(0, 32)}${version}`;
}
