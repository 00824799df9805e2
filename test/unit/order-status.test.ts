import {
  assertTransition,
  canTransition,
  cancellationRefusal,
  isOrderStatus,
  isTerminal,
  orderStatuses,
  type OrderStatus,
} from '../../domain/order-status';

describe('order status', () => {
  const allowed: [OrderStatus, OrderStatus][] = [
    ['PENDING', 'INVENTORY_RESERVED'],
    ['PENDING', 'FAILED'],
    ['PENDING', 'CANCELLED'],
    ['INVENTORY_RESERVED', 'PAID'],
    ['INVENTORY_RESERVED', 'FAILED'],
    ['INVENTORY_RESERVED', 'CANCELLED'],
    ['PAID', 'SHIPPED'],
    ['PAID', 'FAILED'],
    ['PAID', 'CANCELLED'],
    ['SHIPPED', 'DELIVERED'],
  ];

  it.each(allowed)('allows %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each<[OrderStatus, OrderStatus]>([
    ['PENDING', 'PAID'],
    ['PENDING', 'SHIPPED'],
    ['INVENTORY_RESERVED', 'PENDING'],
    ['PAID', 'DELIVERED'],
    ['SHIPPED', 'CANCELLED'],
    ['SHIPPED', 'FAILED'],
    ['DELIVERED', 'CANCELLED'],
    ['CANCELLED', 'PENDING'],
    ['FAILED', 'PAID'],
    ['PAID', 'PAID'],
  ])('forbids %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => assertTransition(from, to)).toThrow(`order status cannot change from ${from} to ${to}`);
  });

  it('allows nothing beyond the listed transitions', () => {
    const all = orderStatuses.flatMap((from) => orderStatuses.map((to): [OrderStatus, OrderStatus] => [from, to]));
    const arrow = ([from, to]: [OrderStatus, OrderStatus]): string => `${from}->${to}`;
    expect(
      all
        .filter(([from, to]) => canTransition(from, to))
        .map(arrow)
        .sort(),
    ).toEqual(allowed.map(arrow).sort());
  });

  it('ends in DELIVERED, CANCELLED or FAILED', () => {
    expect(orderStatuses.filter(isTerminal)).toEqual(['DELIVERED', 'CANCELLED', 'FAILED']);
  });

  it('calls terminal exactly the statuses no move leads out of', () => {
    const deadEnds = orderStatuses.filter((from) => orderStatuses.every((to) => !canTransition(from, to)));
    expect(orderStatuses.filter(isTerminal)).toEqual(deadEnds);
  });

  it('recognises status strings read back from storage', () => {
    expect(isOrderStatus('PAID')).toBe(true);
    expect(isOrderStatus('paid')).toBe(false);
  });

  describe('cancellation by the customer', () => {
    it.each<OrderStatus>(['PENDING', 'INVENTORY_RESERVED', 'PAID'])(
      'is possible while %s with no shipment',
      (status) => {
        expect(cancellationRefusal(status, false)).toBeUndefined();
      },
    );

    it('is refused once a shipment exists, even before it leaves', () => {
      expect(cancellationRefusal('PAID', true)).toBe('shipments have already been created');
    });

    it.each<OrderStatus>(['SHIPPED', 'DELIVERED', 'CANCELLED', 'FAILED'])('is refused when %s', (status) => {
      expect(cancellationRefusal(status, false)).toBe(`order is already ${status}`);
    });

    it('names the status before the shipments when both apply', () => {
      expect(cancellationRefusal('SHIPPED', true)).toBe('order is already SHIPPED');
    });
  });
});
