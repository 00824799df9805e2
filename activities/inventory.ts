import { ApplicationFailure } from '@temporalio/activity';
import { OrderFailureType } from '../domain/order-errors';
import { orderEvent } from '../domain/order-events';
import type { Database } from '../lib/database';
import { activityCorrelation, appendOrderEvents, type EventLogDeps } from './order-event-log';
import { lockOrder, lockOrderIfRecorded, transitionOrder, type Tx } from './order-store';

/**
 * Stock held for orders. All lines of an order are reserved in one transaction or none are;
 * the conditional UPDATE and the table's CHECK (reserved <= on_hand) make overselling impossible
 * however many orders race for the last units.
 */

export interface InventoryActivityDeps extends EventLogDeps {
  db: Database;
}

export interface StockLine {
  productId: string;
  quantity: number;
}

export interface ReserveInventoryInput {
  orderId: string;
  lines: StockLine[];
}
export interface ReserveInventoryResult {
  reserved: StockLine[];
}

export interface ReleaseInventoryInput {
  orderId: string;
}
export interface ReleaseInventoryResult {
  released: StockLine[];
}

export interface ShortLine {
  productId: string;
  requested: number;
  available: number;
}

class InsufficientStock extends Error {}

export function createInventoryActivities(deps: InventoryActivityDeps) {
  const { db } = deps;
  return {
    async reserveInventory(input: ReserveInventoryInput): Promise<ReserveInventoryResult> {
      try {
        return await db.$transaction((tx) => reserveAll(tx, input, deps));
      } catch (error) {
        if (!(error instanceof InsufficientStock)) throw error;
        const short = await shortLines(db, input.lines);
        throw ApplicationFailure.nonRetryable(
          `out of stock: ${short.map((s) => `${s.productId} (requested ${s.requested}, available ${s.available})`).join(', ')}`,
          OrderFailureType.OutOfStock,
          { short },
        );
      }
    },

    /** Compensation: gives back what is still held. Safe to run twice, or when nothing was reserved. */
    async releaseInventory(input: ReleaseInventoryInput): Promise<ReleaseInventoryResult> {
      return db.$transaction(async (tx) => {
        // The order first, as every order step locks it: the same lock order everywhere, no deadlock.
        const recorded = (await lockOrderIfRecorded(tx, input.orderId)) !== undefined;
        const released = await tx.$queryRaw<StockLine[]>`
          UPDATE reservations SET status = 'RELEASED', released_at = now()
          WHERE order_id = ${input.orderId}::uuid AND status = 'RESERVED'
          RETURNING product_id AS "productId", quantity`;
        for (const line of sortedByProduct(released)) {
          await tx.$executeRaw`
            UPDATE inventory SET reserved = reserved - ${line.quantity}, updated_at = now()
            WHERE product_id = ${line.productId}::uuid`;
        }
        if (recorded && released.length > 0) {
          await appendOrderEvents(
            tx,
            input.orderId,
            activityCorrelation(input.orderId, 'release-inventory'),
            [orderEvent('InventoryReleased', { lines: sortedByProduct(released) })],
            deps,
          );
        }
        return { released };
      });
    },
  };
}

async function reserveAll(tx: Tx, input: ReserveInventoryInput, deps: EventLogDeps): Promise<ReserveInventoryResult> {
  const status = await lockOrder(tx, input.orderId);
  const existing = await tx.reservation.findMany({ where: { orderId: input.orderId } });
  if (existing.length > 0) {
    // A retry after the first attempt committed: report what is held, change nothing.
    return { reserved: existing.map((r) => ({ productId: r.productId, quantity: r.quantity })) };
  }
  // Always lock inventory rows in the same order, so two orders never deadlock on each other.
  for (const line of sortedByProduct(input.lines)) {
    const updated = await tx.$executeRaw`
      UPDATE inventory SET reserved = reserved + ${line.quantity}, updated_at = now()
      WHERE product_id = ${line.productId}::uuid AND on_hand - reserved >= ${line.quantity}`;
    if (updated === 0) throw new InsufficientStock();
  }
  await tx.reservation.createMany({
    data: input.lines.map((line) => ({ ...line, orderId: input.orderId, status: 'RESERVED' })),
  });
  await transitionOrder(tx, input.orderId, status, 'INVENTORY_RESERVED');
  await appendOrderEvents(
    tx,
    input.orderId,
    activityCorrelation(input.orderId, 'reserve-inventory'),
    [
      orderEvent('InventoryReserved', {
        lines: input.lines.map(({ productId, quantity }) => ({ productId, quantity })),
      }),
    ],
    deps,
  );
  return { reserved: input.lines };
}

async function shortLines(db: Database, lines: StockLine[]): Promise<ShortLine[]> {
  const stock = await db.inventory.findMany({ where: { productId: { in: lines.map((l) => l.productId) } } });
  const available = new Map(stock.map((s) => [s.productId, s.onHand - s.reserved]));
  return lines
    .map((line) => ({
      productId: line.productId,
      requested: line.quantity,
      available: available.get(line.productId) ?? 0,
    }))
    .filter((line) => line.available < line.requested);
}

function sortedByProduct<T extends StockLine>(lines: readonly T[]): T[] {
  return [...lines].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
