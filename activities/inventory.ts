import { ApplicationFailure } from '@temporalio/activity';
import { OrderFailureType } from '../domain/order-errors';
import { orderEvent } from '../domain/order-events';
import type { Database } from '../platform/database';
import { activityCorrelation, appendOrderEvents, type EventLogDeps } from './orders/order-event-log';
import { lockOrder, lockOrderIfRecorded, orderTransaction, transitionOrder, type Tx } from './orders/order-store';

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

/** Thrown inside the transaction when a line is short: the caller rolls the reservation back. */
export class InsufficientStock extends Error {}

export function createInventoryActivities(deps: InventoryActivityDeps) {
  const { db } = deps;
  return {
    async reserveInventory(input: ReserveInventoryInput): Promise<ReserveInventoryResult> {
      try {
        return await orderTransaction(db, (tx) => reserveAll(tx, input, deps));
      } catch (error) {
        if (!(error instanceof InsufficientStock)) throw error;
        throw await outOfStockFailure(db, input.lines);
      }
    },

    /** Compensation: gives back what is still held. Safe to run twice, or when nothing was reserved. */
    async releaseInventory(input: ReleaseInventoryInput): Promise<ReleaseInventoryResult> {
      return orderTransaction(db, async (tx) => {
        // The order first, as every order step locks it: the same lock order everywhere, no deadlock.
        const recorded = (await lockOrderIfRecorded(tx, input.orderId)) !== undefined;
        const { rows: released } = await tx.query<StockLine>({
          name: 'reservations-release',
          text: `UPDATE reservations SET status = 'RELEASED', released_at = now()
                 WHERE order_id = $1::uuid AND status = 'RESERVED'
                 RETURNING product_id AS "productId", quantity`,
          values: [input.orderId],
        });
        await adjustStock(tx, released, { onHand: 0, reserved: -1 });
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

/**
 * The non-retryable OutOfStock failure, naming each short line with what is available now (read
 * after the refused transaction, so it is what the customer would see on asking again).
 */
export async function outOfStockFailure(db: Database, lines: StockLine[]): Promise<ApplicationFailure> {
  const short = await shortLines(db, lines);
  return ApplicationFailure.nonRetryable(
    `out of stock: ${short.map((s) => `${s.productId} (requested ${s.requested}, available ${s.available})`).join(', ')}`,
    OrderFailureType.OutOfStock,
    { short },
  );
}

/**
 * Reserves every line for the recorded order in `tx`, or throws InsufficientStock having changed
 * nothing the caller does not roll back. A retry after a committed attempt reports what is held.
 */
export async function reserveAll(
  tx: Tx,
  input: ReserveInventoryInput,
  deps: EventLogDeps,
): Promise<ReserveInventoryResult> {
  const status = await lockOrder(tx, input.orderId);
  const { rows: existing } = await tx.query<StockLine>({
    name: 'reservations-of-order',
    text: 'SELECT product_id AS "productId", quantity FROM reservations WHERE order_id = $1::uuid',
    values: [input.orderId],
  });
  if (existing.length > 0) {
    // A retry after the first attempt committed: report what is held, change nothing.
    return { reserved: existing };
  }
  // All lines or none: a line is taken only where on hand minus reserved covers it.
  const rowCount = await adjustStock(tx, input.lines, { onHand: 0, reserved: 1, onlyWhereAvailable: true });
  if (rowCount !== new Set(input.lines.map((l) => l.productId)).size) throw new InsufficientStock();
  await tx.query({
    name: 'reservations-insert',
    text: `INSERT INTO reservations (order_id, product_id, quantity, status)
           SELECT $1::uuid, product_id, quantity, 'RESERVED' FROM unnest($2::uuid[], $3::int[]) AS l(product_id, quantity)`,
    values: [input.orderId, input.lines.map((l) => l.productId), input.lines.map((l) => l.quantity)],
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

/**
 * Applies `change` (a sign per column) times each line's quantity to on hand and reserved, in one statement that locks
 * the rows in product order (as every stock writer does: two orders never deadlock). With
 * `onlyWhereAvailable`, a product whose on hand minus reserved does not cover its quantity is
 * left alone. Returns how many products changed.
 */
export async function adjustStock(
  tx: Tx,
  lines: readonly StockLine[],
  change: { onHand: -1 | 0 | 1; reserved: -1 | 1; onlyWhereAvailable?: boolean },
): Promise<number> {
  if (lines.length === 0) return 0;
  const sorted = sortedByProduct(lines);
  const { rowCount } = await tx.query({
    name: 'inventory-adjust',
    text: `WITH delta AS (
             SELECT product_id, sum(quantity)::int AS quantity
             FROM unnest($1::uuid[], $2::int[]) AS l(product_id, quantity) GROUP BY product_id
           ), locked AS (
             SELECT i.product_id FROM inventory i JOIN delta d USING (product_id)
             ORDER BY i.product_id FOR UPDATE OF i
           )
           UPDATE inventory i SET on_hand = i.on_hand + $3::int * d.quantity,
                                  reserved = i.reserved + $4::int * d.quantity, updated_at = now()
           FROM delta d
           WHERE i.product_id = d.product_id AND i.product_id IN (SELECT product_id FROM locked)
             AND (NOT $5::boolean OR i.on_hand - i.reserved >= d.quantity)`,
    values: [
      sorted.map((l) => l.productId),
      sorted.map((l) => l.quantity),
      change.onHand,
      change.reserved,
      change.onlyWhereAvailable ?? false,
    ],
  });
  return rowCount ?? 0;
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
