import { ApplicationFailure } from '@temporalio/common';
import type { RecordOrderAndReserveInput } from '../../activities/orders/orders';
import { OrderFailureType } from '../../domain/order-errors';
import {
  orderInput,
  seedCustomer,
  seedProduct,
  seedSeller,
  stockOf,
  type SeededProduct,
} from '../support/order-fixtures';
import { sagaActivitiesUnderTest } from '../support/saga-activities';

/**
 * The saga's first step since the record-and-reserve-in-one-step patch: the order and its
 * reservation in one transaction. Run twice it changes nothing the second time; short of stock it
 * keeps the order and reserves nothing; racing orders never oversell.
 */
describe('recordOrderAndReserveInventory', () => {
  const under = sagaActivitiesUnderTest('shopflow-test-record-and-reserve');
  const db = () => under.db;

  async function stepInput(product: SeededProduct, quantity: number): Promise<RecordOrderAndReserveInput> {
    const input = orderInput(await seedCustomer(db()), [product], [{ productId: product.id, quantity }]);
    return {
      orderId: input.orderId,
      workflowId: `order-${input.orderId}`,
      customerId: input.customerId,
      order: input.order,
      shippingAddress: input.shippingAddress,
      lines: [{ productId: product.id, quantity }],
    };
  }

  const eventsOf = async (orderId: string) =>
    (
      await db().domainEvent.findMany({
        where: { aggregateType: 'order', aggregateId: orderId },
        orderBy: { version: 'asc' },
      })
    ).map((e) => [e.version, e.eventType]);

  it('records the order and reserves its lines in one commit, and a retry changes nothing', async () => {
    const product = await seedProduct(db(), await seedSeller(db()), { stock: 5 });
    const input = await stepInput(product, 3);

    const first = await under.activities.recordOrderAndReserveInventory(input);
    expect(first).toEqual({ created: true, reserved: input.lines });
    const second = await under.activities.recordOrderAndReserveInventory(input);
    expect(second).toEqual({ created: false, reserved: input.lines });

    expect(await stockOf(db(), product.id)).toEqual({ onHand: 5, reserved: 3 });
    expect(await db().order.findUniqueOrThrow({ where: { id: input.orderId } })).toMatchObject({
      status: 'INVENTORY_RESERVED',
    });
    expect(await db().reservation.count({ where: { orderId: input.orderId } })).toBe(1);
    expect(await eventsOf(input.orderId)).toEqual([
      [1, 'OrderPlaced'],
      [2, 'InventoryReserved'],
    ]);
  });

  it('short of stock: keeps the recorded order, reserves nothing, and fails with OutOfStock naming the line', async () => {
    const product = await seedProduct(db(), await seedSeller(db()), { stock: 2 });
    const input = await stepInput(product, 3);

    for (let attempt = 0; attempt < 2; attempt++) {
      const failure = await under.activities.recordOrderAndReserveInventory(input).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({
        type: OrderFailureType.OutOfStock,
        nonRetryable: true,
        details: [{ short: [{ productId: product.id, requested: 3, available: 2 }] }],
      });
    }

    expect(await stockOf(db(), product.id)).toEqual({ onHand: 2, reserved: 0 });
    expect(await db().order.findUniqueOrThrow({ where: { id: input.orderId } })).toMatchObject({ status: 'PENDING' });
    expect(await db().reservation.count({ where: { orderId: input.orderId } })).toBe(0);
    expect(await eventsOf(input.orderId)).toEqual([[1, 'OrderPlaced']]);
  });

  it('never oversells when orders race for the last units', async () => {
    const product = await seedProduct(db(), await seedSeller(db()), { stock: 5 });
    const inputs = await Promise.all(Array.from({ length: 8 }, () => stepInput(product, 2)));

    const outcomes = await Promise.allSettled(
      inputs.map((input) => under.activities.recordOrderAndReserveInventory(input)),
    );

    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    for (const outcome of outcomes.filter((o) => o.status === 'rejected')) {
      expect(outcome.reason).toMatchObject({ type: OrderFailureType.OutOfStock });
    }
    expect(await stockOf(db(), product.id)).toEqual({ onHand: 5, reserved: 4 });
    // Every order was recorded, reserved or not: each has its OrderPlaced and nothing half-written.
    expect(await db().order.count({ where: { id: { in: inputs.map((i) => i.orderId) } } })).toBe(8);
    expect(await db().reservation.count({ where: { orderId: { in: inputs.map((i) => i.orderId) } } })).toBe(2);
  });

  it('a retry racing its own first attempt holds the stock once', async () => {
    const product = await seedProduct(db(), await seedSeller(db()), { stock: 5 });
    const input = await stepInput(product, 3);
    const results = await Promise.all([
      under.activities.recordOrderAndReserveInventory(input),
      under.activities.recordOrderAndReserveInventory(input),
    ]);
    expect(results.map((r) => r.reserved)).toEqual([input.lines, input.lines]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await stockOf(db(), product.id)).toEqual({ onHand: 5, reserved: 3 });
    expect(await eventsOf(input.orderId)).toEqual([
      [1, 'OrderPlaced'],
      [2, 'InventoryReserved'],
    ]);
  });
});
