import { randomUUID } from 'node:crypto';
import type { Prisma } from '../../generated/prisma/client';
import type { Database } from '../../platform/database';

/**
 * Customers' order-side rows written straight into a shard's database (the saga does not route
 * through the shard map yet), and a ledger of them per customer to compare before and after a
 * rebalance: row counts per table, money sums, and each aggregate's event versions.
 */

export interface ShardCatalogue {
  sellerId: string;
  productIds: string[];
}

/** One seller and three products, with fixed ids so that several shards can hold the same ones. */
export const sharedCatalogue: ShardCatalogue = {
  sellerId: '5e11e000-0000-4000-a000-000000000001',
  productIds: [
    '9d000000-0000-4000-a000-000000000001',
    '9d000000-0000-4000-a000-000000000002',
    '9d000000-0000-4000-a000-000000000003',
  ],
};

export async function seedCatalogue(db: Database, catalogue: ShardCatalogue = sharedCatalogue): Promise<void> {
  await db.seller.upsert({
    where: { id: catalogue.sellerId },
    create: { id: catalogue.sellerId, name: 'Shard Seller', email: 'seller@shards.example' },
    update: {},
  });
  for (const [i, id] of catalogue.productIds.entries()) {
    await db.product.upsert({
      where: { id },
      create: {
        id,
        sellerId: catalogue.sellerId,
        sku: `SKU-${i}`,
        name: `Product ${i}`,
        categoryPath: 'test',
        priceMinor: BigInt(1000 + i * 250),
        currency: 'EUR',
      },
      update: {},
    });
  }
}

/**
 * A customer with an address and `orders` orders (the i-th with i+1 lines), each paid, shipped,
 * with an idempotency key, three events (the last one still unpublished in the outbox) and a
 * snapshot; the first order refunded. Amounts differ per customer so that sums tell them apart.
 */
export async function seedCustomerRows(
  db: Database,
  customerId: string,
  options: { orders: number; seed: number; catalogue?: ShardCatalogue },
): Promise<void> {
  const catalogue = options.catalogue ?? sharedCatalogue;
  await db.$transaction(async (tx) => {
    await tx.customer.create({
      data: {
        id: customerId,
        name: `Customer ${options.seed}`,
        email: `c${options.seed}-${customerId}@shards.example`,
      },
    });
    await tx.customerAddress.create({
      data: {
        customerId,
        label: 'home',
        recipient: `Customer ${options.seed}`,
        line1: `${options.seed} Ring Road`,
        city: 'Hashburg',
        postalCode: '10115',
        country: 'DE',
      },
    });
    for (let o = 0; o < options.orders; o++) {
      const orderId = randomUUID();
      const lines = Array.from({ length: o + 1 }, (_, l) => {
        const quantity = 1 + ((options.seed + l) % 3);
        const unit = BigInt(1000 + 17 * options.seed + 101 * l);
        return { lineNo: l + 1, productId: catalogue.productIds[l % catalogue.productIds.length]!, quantity, unit };
      });
      const subtotal = lines.reduce((sum, l) => sum + l.unit * BigInt(l.quantity), 0n);
      const commission = subtotal / 10n;
      await tx.order.create({
        data: {
          id: orderId,
          customerId,
          workflowId: `order-${orderId}`,
          status: o === 0 ? 'CANCELLED' : 'SHIPPED',
          currency: 'EUR',
          itemCount: lines.reduce((n, l) => n + l.quantity, 0),
          subtotalMinor: subtotal,
          commissionMinor: commission,
          totalMinor: subtotal,
          shippingAddress: { line1: `${options.seed} Ring Road`, city: 'Hashburg', country: 'DE' },
          lines: {
            create: lines.map((l) => ({
              lineNo: l.lineNo,
              productId: l.productId,
              sellerId: catalogue.sellerId,
              productName: `Product ${l.lineNo}`,
              quantity: l.quantity,
              unitPriceMinor: l.unit,
              lineTotalMinor: l.unit * BigInt(l.quantity),
              commissionRateBps: 1000,
              commissionMinor: (l.unit * BigInt(l.quantity)) / 10n,
            })),
          },
        },
      });
      const payment = await tx.payment.create({
        data: {
          orderId,
          amountMinor: subtotal,
          currency: 'EUR',
          provider: 'simulated',
          providerChargeId: `ch_${orderId}`,
          idempotencyKey: `charge:${orderId}`,
          status: o === 0 ? 'REFUNDED' : 'CAPTURED',
        },
      });
      if (o === 0)
        await tx.refund.create({
          data: {
            paymentId: payment.id,
            amountMinor: subtotal,
            providerRefundId: `re_${orderId}`,
            idempotencyKey: `refund:${orderId}`,
          },
        });
      const shipment = await tx.shipment.create({
        data: {
          orderId,
          sellerId: catalogue.sellerId,
          status: 'CREATED',
          carrier: 'sim',
          trackingNumber: `T${options.seed}${o}`,
          providerShipmentId: `sh_${orderId}`,
          idempotencyKey: `ship:${orderId}`,
        },
      });
      await tx.idempotencyKey.create({
        data: {
          scope: `POST /v1/orders customer:${customerId}`,
          key: `key-${orderId}`,
          requestHash: 'a'.repeat(64),
          state: 'COMPLETED',
          resourceId: orderId,
          lockedUntil: new Date(),
          responseStatus: 202,
          responseBody: { orderId },
          expiresAt: new Date(Date.now() + 86_400_000),
        },
      });
      // The events of the rows above, as the saga's steps append them (read models fold them).
      const events: [string, Prisma.InputJsonObject][] = [
        [
          'OrderPlaced',
          {
            customerId,
            workflowId: `order-${orderId}`,
            currency: 'EUR',
            lines: lines.map((l) => ({
              lineNo: l.lineNo,
              productId: l.productId,
              sellerId: catalogue.sellerId,
              name: `Product ${l.lineNo}`,
              quantity: l.quantity,
              unitPriceMinor: Number(l.unit),
              lineTotalMinor: Number(l.unit * BigInt(l.quantity)),
              commissionRateBps: 1000,
              commissionMinor: Number((l.unit * BigInt(l.quantity)) / 10n),
            })),
            totals: {
              itemCount: lines.reduce((n, l) => n + l.quantity, 0),
              subtotalMinor: Number(subtotal),
              commissionMinor: Number(commission),
              totalMinor: Number(subtotal),
            },
            shippingAddress: {
              recipient: `Customer ${options.seed}`,
              line1: `${options.seed} Ring Road`,
              city: 'Hashburg',
              postalCode: '10115',
              country: 'DE',
            },
          },
        ],
        ['PaymentCaptured', { paymentId: payment.id, amountMinor: Number(subtotal), currency: 'EUR' }],
        [
          'ShipmentsCreated',
          {
            shipments: [
              {
                shipmentId: shipment.id,
                sellerId: catalogue.sellerId,
                trackingNumber: shipment.trackingNumber,
                carrier: shipment.carrier,
              },
            ],
          },
        ],
      ];
      for (const [i, [type, payload]] of events.entries()) {
        const eventId = randomUUID();
        await tx.domainEvent.create({
          data: {
            id: eventId,
            aggregateType: 'order',
            aggregateId: orderId,
            version: i + 1,
            eventType: type,
            payload,
            partitionKey: orderId,
            streamId: orderId,
          },
        });
        await tx.outboxEvent.create({
          data: {
            eventId,
            aggregateType: 'order',
            aggregateId: orderId,
            version: i + 1,
            eventType: type,
            payload,
            stream: 'shopflow:events:order',
            ...(i < 2 ? { status: 'PUBLISHED', publishedAt: new Date() } : {}),
          },
        });
      }
      await tx.aggregateSnapshot.create({
        data: { aggregateId: orderId, version: 2, aggregateType: 'order', state: { orderId, paid: true } },
      });
    }
  });
}

export interface CustomerLedger {
  /** Shards whose database has the customer. */
  shards: string[];
  rows: Record<string, number>;
  /** Sums in minor units, as strings (bigint). */
  money: Record<string, string>;
  /** Per order: its event versions in order. */
  eventVersions: Record<string, number[]>;
  pendingOutbox: number;
}

const COUNTS: Record<string, string> = {
  customers: `SELECT count(*)::int AS n FROM customers WHERE id = $1::uuid`,
  customer_addresses: `SELECT count(*)::int AS n FROM customer_addresses WHERE customer_id = $1::uuid`,
  orders: `SELECT count(*)::int AS n FROM orders WHERE customer_id = $1::uuid`,
  order_lines: `SELECT count(*)::int AS n FROM order_lines JOIN orders o ON o.id = order_id WHERE o.customer_id = $1::uuid`,
  payments: `SELECT count(*)::int AS n FROM payments JOIN orders o ON o.id = order_id WHERE o.customer_id = $1::uuid`,
  refunds: `SELECT count(*)::int AS n FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.id = p.order_id WHERE o.customer_id = $1::uuid`,
  shipments: `SELECT count(*)::int AS n FROM shipments JOIN orders o ON o.id = order_id WHERE o.customer_id = $1::uuid`,
  idempotency_keys: `SELECT count(*)::int AS n FROM idempotency_keys WHERE scope = 'POST /v1/orders customer:' || $1`,
  domain_events: `SELECT count(*)::int AS n FROM domain_events WHERE aggregate_id IN (SELECT id FROM orders WHERE customer_id = $1::uuid)`,
  aggregate_snapshots: `SELECT count(*)::int AS n FROM aggregate_snapshots WHERE aggregate_id IN (SELECT id FROM orders WHERE customer_id = $1::uuid)`,
  outbox_events: `SELECT count(*)::int AS n FROM outbox_events WHERE aggregate_id IN (SELECT id FROM orders WHERE customer_id = $1::uuid)`,
};

const SUMS: Record<string, string> = {
  order_totals: `SELECT coalesce(sum(total_minor), 0)::text AS s FROM orders WHERE customer_id = $1::uuid`,
  line_totals: `SELECT coalesce(sum(line_total_minor), 0)::text AS s FROM order_lines JOIN orders o ON o.id = order_id WHERE o.customer_id = $1::uuid`,
  payments: `SELECT coalesce(sum(amount_minor), 0)::text AS s FROM payments JOIN orders o ON o.id = order_id WHERE o.customer_id = $1::uuid`,
  refunds: `SELECT coalesce(sum(r.amount_minor), 0)::text AS s FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.id = p.order_id WHERE o.customer_id = $1::uuid`,
};

/** The customer's rows summed over every shard (a customer on two shards shows in `shards`). */
export async function customerLedger(shards: Record<string, Database>, customerId: string): Promise<CustomerLedger> {
  const ledger: CustomerLedger = { shards: [], rows: {}, money: {}, eventVersions: {}, pendingOutbox: 0 };
  for (const [shardId, db] of Object.entries(shards)) {
    const [present] = await db.$queryRawUnsafe<{ n: number }[]>(COUNTS['customers']!, customerId);
    if (present!.n === 0) continue;
    ledger.shards.push(shardId);
    for (const [table, sql] of Object.entries(COUNTS)) {
      const [row] = await db.$queryRawUnsafe<{ n: number }[]>(sql, customerId);
      ledger.rows[table] = (ledger.rows[table] ?? 0) + row!.n;
    }
    for (const [name, sql] of Object.entries(SUMS)) {
      const [row] = await db.$queryRawUnsafe<{ s: string }[]>(sql, customerId);
      ledger.money[name] = (BigInt(ledger.money[name] ?? '0') + BigInt(row!.s)).toString();
    }
    const events = await db.$queryRawUnsafe<{ aggregate_id: string; version: number }[]>(
      `SELECT aggregate_id::text, version FROM domain_events
       WHERE aggregate_id IN (SELECT id FROM orders WHERE customer_id = $1::uuid) ORDER BY aggregate_id, version`,
      customerId,
    );
    for (const e of events) (ledger.eventVersions[e.aggregate_id] ??= []).push(e.version);
    const [pending] = await db.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM outbox_events
       WHERE status = 'PENDING' AND aggregate_id IN (SELECT id FROM orders WHERE customer_id = $1::uuid)`,
      customerId,
    );
    ledger.pendingOutbox += pending!.n;
  }
  return ledger;
}

/** Versions 1..n with no gap and no repeat. */
export function isGapFree(versions: number[]): boolean {
  return versions.every((v, i) => v === i + 1);
}
