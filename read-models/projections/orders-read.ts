import type { OrderEventPayloads } from '../../domain/order-events';
import { ORDER_AGGREGATE } from '../../domain/order-events';
import { customerIdFromPartitionKey, customerPartitionKey } from '../../domain/sharding/partition-key';
import { orderStatusLabels, type OrderStatus } from '../../domain/order-status';
import { aggregateEvents, type EventReader } from './event-feed';
import { cacheTags, type ProjectedEvent, type Projection, type ProjectionContext, type ShardReads } from './projection';
import type { Tx } from '../../platform/database';

/**
 * `orders_read`: one denormalized row per order, what "my orders" and a seller's order list show
 * without a join: the customer's name and email, the flattened shipping address, product and
 * seller names, counts and totals, and the status as a customer reads it. `seller_orders_read`
 * indexes each order under each of its sellers.
 *
 * Built from the order's events alone, plus the names of its customer and sellers looked up when
 * the order is placed. The fold is pure (`foldOrderRow`); `apply` loads the rows a batch touches,
 * folds, and writes them back in one statement, so a rebuild's batch of thousands of events costs
 * a handful of queries.
 */

export const ORDERS_READ = 'orders_read';
export const SELLER_ORDERS_READ = 'seller_orders_read';

export interface OrderReadLine {
  lineNo: number;
  productId: string;
  productName: string;
  sellerId: string;
  sellerName: string;
  quantity: number;
  unitPriceMinor: number;
  lineTotalMinor: number;
  commissionRateBps: number;
  commissionMinor: number;
}

export interface OrderReadShipment {
  shipmentId: string;
  sellerId: string;
  carrier: string;
  trackingNumber: string;
  status: 'CREATED' | 'DELIVERED' | 'CANCELLED';
  createdAt: string;
  deliveredAt: string | null;
  cancelledAt: string | null;
}

/** A row of read_models.orders_read, as JSON (the shape `to_jsonb` gives and `jsonb_populate_record` takes). */
export interface OrderReadRow {
  order_id: string;
  version: number;
  workflow_id: string;
  customer_id: string;
  customer_name: string;
  customer_email: string;
  status: OrderStatus;
  status_label: string;
  failure_reason: string | null;
  currency: string;
  item_count: number;
  subtotal_minor: number;
  commission_minor: number;
  total_minor: number;
  ship_recipient: string;
  ship_line1: string;
  ship_line2: string | null;
  ship_city: string;
  ship_postal_code: string;
  ship_country: string;
  product_names: string[];
  seller_ids: string[];
  seller_names: string[];
  lines: OrderReadLine[];
  shipments: OrderReadShipment[];
  placed_at: string;
  updated_at: string;
}

/** Names the fold needs that the events do not carry. */
export interface ReferenceNames {
  customers: ReadonlyMap<string, { name: string; email: string }>;
  sellers: ReadonlyMap<string, string>;
}

function withStatus(row: OrderReadRow, status: OrderStatus): OrderReadRow {
  return { ...row, status, status_label: orderStatusLabels[status] };
}

/**
 * The row after one event. Pure. Events before OrderPlaced cannot happen (the runner applies each
 * order's events in version order from version 1); other aggregates' events are ignored.
 */
export function foldOrderRow(
  row: OrderReadRow | undefined,
  event: Pick<ProjectedEvent, 'aggregateId' | 'version' | 'type' | 'payload' | 'occurredAt'>,
  names: ReferenceNames,
): OrderReadRow | undefined {
  const at = event.occurredAt.toISOString();
  if (event.type === 'OrderPlaced') {
    const p = event.payload as OrderEventPayloads['OrderPlaced'];
    const customer = names.customers.get(p.customerId);
    const sellerIds = [...new Set(p.lines.map((l) => l.sellerId))];
    const lines = p.lines.map((l) => ({
      lineNo: l.lineNo,
      productId: l.productId,
      productName: l.name,
      sellerId: l.sellerId,
      sellerName: names.sellers.get(l.sellerId) ?? '',
      quantity: l.quantity,
      unitPriceMinor: l.unitPriceMinor,
      lineTotalMinor: l.lineTotalMinor,
      commissionRateBps: l.commissionRateBps,
      commissionMinor: l.commissionMinor,
    }));
    return withStatus(
      {
        order_id: event.aggregateId,
        version: event.version,
        workflow_id: p.workflowId,
        customer_id: p.customerId,
        customer_name: customer?.name ?? '',
        customer_email: customer?.email ?? '',
        status: 'PENDING',
        status_label: '',
        failure_reason: null,
        currency: p.currency,
        item_count: p.totals.itemCount,
        subtotal_minor: p.totals.subtotalMinor,
        commission_minor: p.totals.commissionMinor,
        total_minor: p.totals.totalMinor,
        ship_recipient: p.shippingAddress.recipient,
        ship_line1: p.shippingAddress.line1,
        ship_line2: p.shippingAddress.line2 ?? null,
        ship_city: p.shippingAddress.city,
        ship_postal_code: p.shippingAddress.postalCode,
        ship_country: p.shippingAddress.country,
        product_names: [...new Set(lines.map((l) => l.productName))],
        seller_ids: sellerIds,
        seller_names: sellerIds.map((id) => names.sellers.get(id) ?? ''),
        lines,
        shipments: [],
        placed_at: at,
        updated_at: at,
      },
      'PENDING',
    );
  }
  if (!row) return undefined;
  const next = { ...row, version: event.version, updated_at: at };
  switch (event.type) {
    case 'InventoryReserved':
      return withStatus(next, 'INVENTORY_RESERVED');
    case 'PaymentCaptured':
      return withStatus(next, 'PAID');
    case 'ShipmentsCreated': {
      const p = event.payload as OrderEventPayloads['ShipmentsCreated'];
      const created = p.shipments.map((s) => ({
        shipmentId: s.shipmentId,
        sellerId: s.sellerId,
        carrier: s.carrier,
        trackingNumber: s.trackingNumber,
        status: 'CREATED' as const,
        createdAt: at,
        deliveredAt: null,
        cancelledAt: null,
      }));
      return withStatus({ ...next, shipments: [...row.shipments, ...created] }, 'SHIPPED');
    }
    case 'ShipmentsCancelled': {
      const cancelled = new Set((event.payload as OrderEventPayloads['ShipmentsCancelled']).shipmentIds);
      return {
        ...next,
        shipments: row.shipments.map((s) =>
          cancelled.has(s.shipmentId) ? { ...s, status: 'CANCELLED' as const, cancelledAt: at } : s,
        ),
      };
    }
    case 'ShipmentDelivered': {
      const p = event.payload as OrderEventPayloads['ShipmentDelivered'];
      return {
        ...next,
        shipments: row.shipments.map((s) =>
          s.shipmentId === p.shipmentId ? { ...s, status: 'DELIVERED' as const, deliveredAt: p.deliveredAt } : s,
        ),
      };
    }
    case 'OrderDelivered':
      return withStatus(next, 'DELIVERED');
    case 'OrderFailed':
      return {
        ...withStatus(next, 'FAILED'),
        failure_reason: (event.payload as OrderEventPayloads['OrderFailed']).reason,
      };
    case 'OrderCancelled':
      return {
        ...withStatus(next, 'CANCELLED'),
        failure_reason: (event.payload as OrderEventPayloads['OrderCancelled']).reason,
      };
    default:
      // InventoryReleased, PaymentRefunded and events of later versions change nothing shown here.
      return next;
  }
}

const rowColumns = [
  'version',
  'workflow_id',
  'customer_id',
  'customer_name',
  'customer_email',
  'status',
  'status_label',
  'failure_reason',
  'currency',
  'item_count',
  'subtotal_minor',
  'commission_minor',
  'total_minor',
  'ship_recipient',
  'ship_line1',
  'ship_line2',
  'ship_city',
  'ship_postal_code',
  'ship_country',
  'product_names',
  'seller_ids',
  'seller_names',
  'lines',
  'shipments',
  'placed_at',
  'updated_at',
] as const;

async function loadRows(ctx: ProjectionContext, orderIds: string[]): Promise<Map<string, OrderReadRow>> {
  const rows = await ctx.tx.$queryRawUnsafe<{ row: OrderReadRow }[]>(
    `SELECT to_jsonb(o) AS row FROM ${ctx.table(ORDERS_READ)} o WHERE o.order_id = ANY($1::uuid[])`,
    orderIds,
  );
  return new Map(rows.map(({ row }) => [row.order_id, row]));
}

/** Customer and seller names for the orders a batch places: reference data read from the write model. */
async function loadNames(
  tx: Tx,
  placed: OrderEventPayloads['OrderPlaced'][],
  catalogue: Tx = tx,
): Promise<ReferenceNames> {
  if (placed.length === 0) return { customers: new Map(), sellers: new Map() };
  const customerIds = [...new Set(placed.map((p) => p.customerId))];
  const sellerIds = [...new Set(placed.flatMap((p) => p.lines.map((l) => l.sellerId)))];
  type NameRow = { kind: 'c' | 's'; id: string; name: string; email: string | null };
  const customersSql = `SELECT 'c' AS kind, id::text AS id, name, email FROM customers WHERE id = ANY($1::uuid[])`;
  const sellersSql = `SELECT 's' AS kind, id::text AS id, name, NULL AS email FROM sellers WHERE id = ANY($1::uuid[])`;
  // One round trip for both kinds of names when they are in one database.
  const rows =
    catalogue === tx
      ? await tx.$queryRawUnsafe<NameRow[]>(
          `${customersSql} UNION ALL ${sellersSql.replace('$1', '$2')}`,
          customerIds,
          sellerIds,
        )
      : [
          ...(await tx.$queryRawUnsafe<NameRow[]>(customersSql, customerIds)),
          ...(await catalogue.$queryRawUnsafe<NameRow[]>(sellersSql, sellerIds)),
        ];
  const customers = rows.filter((r) => r.kind === 'c');
  const sellers = rows.filter((r) => r.kind === 's');
  return {
    customers: new Map(customers.map((c) => [c.id, { name: c.name, email: c.email ?? '' }])),
    sellers: new Map(sellers.map((s) => [s.id, s.name])),
  };
}

type CustomerRow = { id: string; name: string; email: string };

async function customersIn(reader: EventReader, keys: string[]): Promise<CustomerRow[]> {
  return reader.$queryRawUnsafe<CustomerRow[]>(
    `SELECT id::text AS id, name, email FROM customers WHERE id = ANY($1::uuid[])`,
    keys.map((key) => customerIdFromPartitionKey(key)!),
  );
}

/**
 * Names of customers the read database does not hold, from their shards. One not found where the
 * router said may have moved a moment ago (the map flips before the source's rows go): looked for
 * once more after reading the map again.
 */
async function withShardCustomers(
  shards: ShardReads,
  placed: OrderEventPayloads['OrderPlaced'][],
  names: ReferenceNames,
): Promise<ReferenceNames> {
  const customers = new Map(names.customers);
  for (const freshMap of [false, true]) {
    const missing = [...new Set(placed.map((p) => p.customerId))].filter((id) => !customers.has(id));
    if (missing.length === 0) break;
    const rows = await shards.readByShard(missing.map(customerPartitionKey), customersIn, { freshMap });
    for (const row of rows) customers.set(row.id, { name: row.name, email: row.email });
  }
  return { customers, sellers: names.sellers };
}

async function applyOrderEvents(events: readonly ProjectedEvent[], ctx: ProjectionContext): Promise<string[]> {
  const orderEvents = events.filter((e) => e.aggregateType === ORDER_AGGREGATE);
  if (orderEvents.length === 0) return [];
  const rows = await loadRows(ctx, [...new Set(orderEvents.map((e) => e.aggregateId))]);
  const placedPayloads = orderEvents
    .filter((e) => e.type === 'OrderPlaced')
    .map((e) => e.payload as OrderEventPayloads['OrderPlaced']);
  const local = await loadNames(ctx.tx, placedPayloads);
  const names = ctx.shards ? await withShardCustomers(ctx.shards, placedPayloads, local) : local;
  const changed = new Map<string, OrderReadRow>();
  const placed: OrderReadRow[] = [];
  for (const event of orderEvents) {
    const next = foldOrderRow(rows.get(event.aggregateId), event, names);
    if (!next) continue;
    if (event.type === 'OrderPlaced') placed.push(next);
    rows.set(event.aggregateId, next);
    changed.set(event.aggregateId, next);
  }
  if (changed.size === 0) return [];

  const table = ctx.table(ORDERS_READ);
  await ctx.tx.$executeRawUnsafe(
    `INSERT INTO ${table} SELECT * FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)
     ON CONFLICT (order_id) DO UPDATE SET (${rowColumns.join(', ')}) = (${rowColumns.map((c) => `EXCLUDED.${c}`).join(', ')})`,
    JSON.stringify([...changed.values()]),
  );
  if (placed.length > 0) {
    await ctx.tx.$executeRawUnsafe(
      `INSERT INTO ${ctx.table(SELLER_ORDERS_READ)} (seller_id, order_id, placed_at)
       SELECT x.seller_id, x.order_id, x.placed_at
       FROM jsonb_to_recordset($1::jsonb) AS x(seller_id uuid, order_id uuid, placed_at timestamptz)
       ON CONFLICT DO NOTHING`,
      JSON.stringify(
        placed.flatMap((row) =>
          row.seller_ids.map((sellerId) => ({ seller_id: sellerId, order_id: row.order_id, placed_at: row.placed_at })),
        ),
      ),
    );
  }
  const tags = new Set<string>();
  for (const row of changed.values()) {
    tags.add(cacheTags.order(row.order_id));
    tags.add(cacheTags.customer(row.customer_id));
    for (const sellerId of row.seller_ids) tags.add(cacheTags.seller(sellerId));
  }
  return [...tags];
}

export const ordersReadProjection: Projection = {
  name: ORDERS_READ,
  aggregateTypes: [ORDER_AGGREGATE],
  tables: [ORDERS_READ, SELLER_ORDERS_READ],
  apply: applyOrderEvents,
};

/**
 * The row folded straight from the order's events: what a read falls back to when the read model
 * has not caught up (or has not seen the order yet). Undefined when the order has no events.
 */
export async function orderRowFromEvents(
  tx: Tx,
  orderId: string,
  /** Where sellers' names are, when not in `tx`'s database (the order on a shard, sellers in the catalogue). */
  catalogue: Tx = tx,
): Promise<OrderReadRow | undefined> {
  const events = await aggregateEvents(tx, orderId, 0, MAX_VERSION);
  if (events.length === 0) return undefined;
  const names = await loadNames(
    tx,
    events.filter((e) => e.type === 'OrderPlaced').map((e) => e.payload as OrderEventPayloads['OrderPlaced']),
    catalogue,
  );
  let row: OrderReadRow | undefined;
  for (const event of events) row = foldOrderRow(row, event, names);
  return row;
}

const MAX_VERSION = 2_147_483_647;
