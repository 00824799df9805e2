import { ApplicationFailure } from '@temporalio/activity';
import { OrderFailureType } from '../domain/order-errors';
import { orderEvent } from '../domain/order-events';
import type { Database } from '../platform/database';
import { orderDatabase, type OrderRef, type OrderShardDeps } from './orders/order-database';
import { activityCorrelation, appendOrderEvents, type EventLogDeps } from './orders/order-event-log';
import { lockOrder, lockOrderIfRecorded, orderTransaction, transitionOrder, type Tx } from './orders/order-store';
import { lockOrderStock, type CrossDatabaseDeps } from './orders/cross-database';
import type { OrderStatus } from '../domain/order-status';

/**
 * Stock held for orders. All lines of an order are reserved in one transaction or none are;
 * the conditional UPDATE and the table's CHECK (reserved <= on_hand) make overselling impossible
 * however many orders race for the last units.
 *
 * Stock lives in the catalogue database, the order on its customer's shard. When they are one
 * database (no shards, or the customer on the catalogue database) a step is one transaction, as it
 * always was. When they are two, the stock's transaction commits first and the order's second;
 * each half finds its own work done on a retry, so a crash between the commits loses and doubles
 * nothing (activities/orders/cross-database.ts).
 */

export interface InventoryActivityDeps extends EventLogDeps, OrderShardDeps, CrossDatabaseDeps {}

export interface StockLine {
  productId: string;
  quantity: number;
}

export interface ReserveInventoryInput extends OrderRef {
  lines: StockLine[];
}
export interface ReserveInventoryResult {
  reserved: StockLine[];
}

export type ReleaseInventoryInput = OrderRef;
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
      const orderDb = await orderDatabase(deps, input);
      try {
        if (orderDb === db) return await orderTransaction(db, (tx) => reserveAll(tx, input, deps));
        const held = await orderTransaction(db, (tx) => holdStockForOrder(tx, input));
        await deps.betweenCommits?.('reserve-inventory');
        await orderTransaction(orderDb, async (tx) =>
          recordReserved(tx, input, await lockOrder(tx, input.orderId), deps),
        );
        return { reserved: held.reserved };
      } catch (error) {
        if (!(error instanceof InsufficientStock)) throw error;
        throw await outOfStockFailure(db, input.lines);
      }
    },

    /** Compensation: gives back what is still held. Safe to run twice, or when nothing was reserved. */
    async releaseInventory(input: ReleaseInventoryInput): Promise<ReleaseInventoryResult> {
      const orderDb = await orderDatabase(deps, input);
      if (orderDb === db) {
        return orderTransaction(db, async (tx) => {
          // The order first, as every order step locks it: the same lock order everywhere, no deadlock.
          const recorded = (await lockOrderIfRecorded(tx, input.orderId)) !== undefined;
          const released = await releaseHeld(tx, input.orderId);
          if (recorded && released.length > 0) await recordReleased(tx, input.orderId, released, deps);
          return { released };
        });
      }
      const { released, everReleased } = await orderTransaction(db, async (tx) => {
        await lockOrderStock(tx, input.orderId);
        const released = await releaseHeld(tx, input.orderId);
        return { released, everReleased: await releasedOf(tx, input.orderId) };
      });
      await deps.betweenCommits?.('release-inventory');
      // Everything the order ever released, so that a retry after a crash between the commits still
      // records it; the step's causation key keeps a second append of the same event out.
      await orderTransaction(orderDb, async (tx) => {
        const recorded = (await lockOrderIfRecorded(tx, input.orderId)) !== undefined;
        if (recorded && everReleased.length > 0) await recordReleased(tx, input.orderId, everReleased, deps);
      });
      return { released };
    },
  };
}

/** Sets the order's RESERVED rows RELEASED and gives their stock back; returns what it released. */
async function releaseHeld(tx: Tx, orderId: string): Promise<StockLine[]> {
  const { rows: released } = await tx.query<StockLine>({
    name: 'reservations-release',
    text: `UPDATE reservations SET status = 'RELEASED', released_at = now()
           WHERE order_id = $1::uuid AND status = 'RESERVED'
           RETURNING product_id AS "productId", quantity`,
    values: [orderId],
  });
  await adjustStock(tx, released, { onHand: 0, reserved: -1 });
  return released;
}

async function releasedOf(tx: Tx, orderId: string): Promise<StockLine[]> {
  const { rows } = await tx.query<StockLine>({
    name: 'reservations-released',
    text: `SELECT product_id AS "productId", quantity FROM reservations WHERE order_id = $1::uuid AND status = 'RELEASED'`,
    values: [orderId],
  });
  return rows;
}

async function recordReleased(tx: Tx, orderId: string, released: StockLine[], deps: EventLogDeps): Promise<void> {
  await appendOrderEvents(
    tx,
    orderId,
    activityCorrelation(orderId, 'release-inventory'),
    [orderEvent('InventoryReleased', { lines: sortedByProduct(released) })],
    deps,
  );
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
 * Reserves every line for the recorded order in `tx` (one database holds the order and the stock),
 * or throws InsufficientStock having changed nothing the caller does not roll back. A retry after a
 * committed attempt reports what is held.
 */
export async function reserveAll(
  tx: Tx,
  input: ReserveInventoryInput,
  deps: EventLogDeps,
): Promise<ReserveInventoryResult> {
  const status = await lockOrder(tx, input.orderId);
  const held = await holdStock(tx, input);
  // A retry after the first attempt committed: report what is held, change nothing.
  if (!held.fresh) return { reserved: held.reserved };
  await recordReserved(tx, input, status, deps);
  return { reserved: held.reserved };
}

/**
 * The stock half of a reservation, in the catalogue database when the order is on another: the
 * order's advisory lock stands in for its row lock, so that a retry racing its first attempt waits
 * for it and then finds its reservation.
 */
export async function holdStockForOrder(tx: Tx, input: ReserveInventoryInput): Promise<HeldStock> {
  await lockOrderStock(tx, input.orderId);
  return holdStock(tx, input);
}

interface HeldStock {
  reserved: StockLine[];
  /** False when an earlier attempt had reserved already. */
  fresh: boolean;
}

/** Takes every line from stock and records the reservation, or throws InsufficientStock. */
async function holdStock(tx: Tx, input: ReserveInventoryInput): Promise<HeldStock> {
  const { rows: existing } = await tx.query<StockLine>({
    name: 'reservations-of-order',
    text: 'SELECT product_id AS "productId", quantity FROM reservations WHERE order_id = $1::uuid',
    values: [input.orderId],
  });
  if (existing.length > 0) return { reserved: existing, fresh: false };
  // All lines or none: a line is taken only where on hand minus reserved covers it.
  const rowCount = await adjustStock(tx, input.lines, { onHand: 0, reserved: 1, onlyWhereAvailable: true });
  if (rowCount !== new Set(input.lines.map((l) => l.productId)).size) throw new InsufficientStock();
  await tx.query({
    name: 'reservations-insert',
    text: `INSERT INTO reservations (order_id, product_id, quantity, status)
           SELECT $1::uuid, product_id, quantity, 'RESERVED' FROM unnest($2::uuid[], $3::int[]) AS l(product_id, quantity)`,
    values: [input.orderId, input.lines.map((l) => l.productId), input.lines.map((l) => l.quantity)],
  });
  return { reserved: input.lines, fresh: true };
}

/**
 * The order half: INVENTORY_RESERVED and its event, on the locked order. Already recorded (a retry
 * after both halves committed): nothing to do.
 */
export async function recordReserved(
  tx: Tx,
  input: ReserveInventoryInput,
  status: OrderStatus,
  deps: EventLogDeps,
): Promise<void> {
  if (status === 'INVENTORY_RESERVED') return;
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
