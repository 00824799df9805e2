import {
  applyOrderEvent,
  InvalidOrderEvent,
  orderEvent,
  replayOrderEvents,
  type OrderEvent,
  type OrderState,
} from '../../domain/order-events';

const placed = orderEvent('OrderPlaced', {
  customerId: 'c-1',
  workflowId: 'order-1',
  currency: 'EUR',
  lines: [
    {
      lineNo: 1,
      productId: 'p-1',
      sellerId: 's-1',
      name: 'Apple',
      quantity: 2,
      unitPriceMinor: 500,
      lineTotalMinor: 1000,
      commissionRateBps: 1000,
      commissionMinor: 100,
    },
  ],
  totals: { itemCount: 2, subtotalMinor: 1000, commissionMinor: 100, totalMinor: 1000 },
  shippingAddress: { recipient: 'A', line1: 'Street 1', city: 'Town', postalCode: '1000', country: 'DE' },
});
const reserved = orderEvent('InventoryReserved', { lines: [{ productId: 'p-1', quantity: 2 }] });
const paid = orderEvent('PaymentCaptured', { paymentId: 'pay-1', amountMinor: 1000, currency: 'EUR' });
const shipped = orderEvent('ShipmentsCreated', {
  shipments: [{ shipmentId: 'sh-1', sellerId: 's-1', trackingNumber: 'T1', carrier: 'sim' }],
});

describe('order events', () => {
  it('a delivered order: each event moves the status along the state machine', () => {
    const story: OrderEvent[] = [
      placed,
      reserved,
      paid,
      shipped,
      orderEvent('ShipmentDelivered', { shipmentId: 'sh-1', deliveredAt: '2026-01-02T00:00:00.000Z' }),
      orderEvent('OrderDelivered', {}),
    ];
    const statuses: string[] = [];
    story.reduce<OrderState | undefined>((state, event) => {
      const next = applyOrderEvent(state, event);
      statuses.push(next.status);
      return next;
    }, undefined);

    expect(statuses).toEqual(['PENDING', 'INVENTORY_RESERVED', 'PAID', 'SHIPPED', 'SHIPPED', 'DELIVERED']);
    const end = replayOrderEvents(story)!;
    expect(end.shipments).toEqual([
      expect.objectContaining({ shipmentId: 'sh-1', status: 'DELIVERED', deliveredAt: '2026-01-02T00:00:00.000Z' }),
    ]);
    expect(end.inventory.hold).toBe('CONSUMED');
    expect(end.payment).toEqual({ paymentId: 'pay-1', amountMinor: 1000, status: 'CAPTURED' });
  });

  it('an undeliverable order: compensations change holdings, then it fails with the reason', () => {
    const end = replayOrderEvents([
      placed,
      reserved,
      paid,
      orderEvent('PaymentRefunded', { paymentId: 'pay-1', amountMinor: 1000 }),
      orderEvent('InventoryReleased', { lines: [{ productId: 'p-1', quantity: 2 }] }),
      orderEvent('OrderFailed', { reason: 'undeliverable' }),
    ])!;

    expect(end).toMatchObject({
      status: 'FAILED',
      failureReason: 'undeliverable',
      payment: { status: 'REFUNDED' },
      inventory: { hold: 'RELEASED' },
    });
  });

  it('a cancelled order keeps the reason', () => {
    const end = replayOrderEvents([placed, reserved, orderEvent('OrderCancelled', { reason: 'changed my mind' })])!;
    expect(end).toMatchObject({ status: 'CANCELLED', cancellationReason: 'changed my mind' });
  });

  it('never changes the state it is given', () => {
    const before = replayOrderEvents([placed, reserved])!;
    const copy = structuredClone(before);
    applyOrderEvent(before, paid);
    expect(before).toEqual(copy);
  });

  it.each<[string, OrderEvent[]]>([
    ['an event before OrderPlaced', [reserved]],
    ['OrderPlaced twice', [placed, placed]],
    [
      'a move the state machine forbids',
      [placed, reserved, paid, shipped, orderEvent('OrderCancelled', { reason: 'x' })],
    ],
    ['a refund without a payment', [placed, orderEvent('PaymentRefunded', { paymentId: 'p', amountMinor: 1 })]],
    [
      'a delivery of an unknown shipment',
      [placed, orderEvent('ShipmentDelivered', { shipmentId: 'x', deliveredAt: '' })],
    ],
  ])('refuses %s', (_, events) => {
    expect(() => replayOrderEvents(events)).toThrow(InvalidOrderEvent);
  });
});
