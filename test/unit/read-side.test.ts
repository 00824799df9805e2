import { randomUUID } from 'node:crypto';
import { orderEvent } from '../../domain/order-events';
import { parsePositions, PositionSyntaxError } from '../../read-models/projections/consistency';
import { foldOrderRow, type OrderReadRow, type ReferenceNames } from '../../read-models/projections/orders-read';
import { formatPosition } from '../../read-models/projections/projection';
import { lifecycle } from '../support/order-history';

const sellerA = randomUUID();
const sellerB = randomUUID();
const customerId = randomUUID();
const names: ReferenceNames = {
  customers: new Map([[customerId, { name: 'Ada', email: 'ada@example.test' }]]),
  sellers: new Map([
    [sellerA, 'Acme'],
    [sellerB, 'Globex'],
  ]),
};
const lines = [
  { productId: randomUUID(), sellerId: sellerA, name: 'Chair', quantity: 2, unitPriceMinor: 1_000 },
  { productId: randomUUID(), sellerId: sellerB, name: 'Lamp', quantity: 1, unitPriceMinor: 500 },
];

function fold(events: ReturnType<typeof lifecycle>, orderId: string): OrderReadRow | undefined {
  let row: OrderReadRow | undefined;
  events.forEach((event, index) => {
    row = foldOrderRow(
      row,
      {
        aggregateId: orderId,
        version: index + 1,
        occurredAt: new Date(Date.UTC(2026, 10, 25, 12, 0, index)),
        ...event,
      },
      names,
    );
  });
  return row;
}

describe('foldOrderRow (orders_read)', () => {
  it('denormalizes the placed order: names, address, totals, sellers in line order', () => {
    const orderId = randomUUID();
    const row = fold(lifecycle(orderId, customerId, lines, 'placed'), orderId)!;
    expect(row).toMatchObject({
      order_id: orderId,
      version: 1,
      customer_name: 'Ada',
      customer_email: 'ada@example.test',
      status: 'PENDING',
      status_label: 'Received',
      item_count: 3,
      subtotal_minor: 2_500,
      total_minor: 2_500,
      product_names: ['Chair', 'Lamp'],
      seller_ids: [sellerA, sellerB],
      seller_names: ['Acme', 'Globex'],
      ship_country: 'GB',
      shipments: [],
    });
    expect(row.lines.map((l) => l.sellerName)).toEqual(['Acme', 'Globex']);
  });

  it.each([
    ['paid', 'PAID', 0],
    ['shipped', 'SHIPPED', 2],
    ['delivered', 'DELIVERED', 2],
    ['failed', 'FAILED', 0],
    ['cancelled-after-payment', 'CANCELLED', 0],
  ] as const)('an order that ended %s shows %s with %i shipments', (outcome, status, shipments) => {
    const orderId = randomUUID();
    const events = lifecycle(orderId, customerId, lines, outcome);
    const row = fold(events, orderId)!;
    expect(row.status).toBe(status);
    expect(row.version).toBe(events.length);
    expect(row.shipments).toHaveLength(shipments);
    expect(row.updated_at).toBe(new Date(Date.UTC(2026, 10, 25, 12, 0, events.length - 1)).toISOString());
    if (outcome === 'delivered')
      expect(row.shipments.every((s) => s.status === 'DELIVERED' && s.deliveredAt)).toBe(true);
    if (outcome === 'failed') expect(row.failure_reason).toBe('PaymentDeclined');
  });

  it('marks cancelled shipments and ignores events before the order was placed', () => {
    const orderId = randomUUID();
    const shipped = lifecycle(orderId, customerId, lines, 'shipped');
    const created = shipped[shipped.length - 1]!;
    const ids = (created.payload as { shipments: { shipmentId: string }[] }).shipments.map((s) => s.shipmentId);
    const row = fold([...shipped, orderEvent('ShipmentsCancelled', { shipmentIds: [ids[0]!] })], orderId)!;
    expect(row.shipments.map((s) => s.status)).toEqual(['CANCELLED', 'CREATED']);
    expect(row.shipments[0]!.cancelledAt).not.toBeNull();
    expect(
      foldOrderRow(
        undefined,
        { aggregateId: orderId, version: 2, type: 'PaymentCaptured', payload: {}, occurredAt: new Date() },
        names,
      ),
    ).toBeUndefined();
  });
});

describe('positions (read-your-writes)', () => {
  const id = randomUUID();

  it('round-trips what a write sends', () => {
    const position = { aggregateType: 'product', aggregateId: id, version: 12 };
    expect(parsePositions(formatPosition(position))).toEqual([position]);
    expect(parsePositions(`order:${id}:1, product:${id}:2`)).toHaveLength(2);
    expect(parsePositions(undefined)).toEqual([]);
  });

  it.each([
    `order:${id}`,
    `order:${id}:0`,
    `order:${id}:-1`,
    `Order:${id}:1`,
    `order:${id.slice(1)}x:1`,
    'nonsense',
    `order:${id}:1:2`,
  ])('refuses %s', (value) => {
    expect(() => parsePositions(value)).toThrow(PositionSyntaxError);
  });

  it('refuses more than 20 positions', () => {
    expect(() => parsePositions(Array.from({ length: 21 }, () => `order:${id}:1`).join(','))).toThrow(/at most 20/);
  });
});
