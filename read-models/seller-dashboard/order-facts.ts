import type { Database, Tx } from '../../platform/database';
import type { ShardRouter } from '../../platform/shards/router';
import { isPastOrAt, listMoves, type ShardMove } from '../../platform/shards/shard-moves';

/**
 * The seller dashboards' order facts as the write model tells them, from every database of the
 * shard map (docs/sharding.md, "The dashboards' recalculation on shards"). An order's rows live on
 * its customer's shard (the catalogue database for customers not moved off it), so the truth the
 * recalculation compares with is the union of every database's facts, gathered into a table of the
 * recalculation's own transaction in the read database.
 *
 * The catalogue database's facts are derived inside that transaction by one statement, as with one
 * database. Each other database is read in pages of orders, each page one statement there (so each
 * fact carries its order's latest event version from the same snapshot as its rows), and its facts
 * travel as JSON text into the transaction, never parsed on the way, so amounts keep every digit.
 * A fact found on two databases (a customer copied and not yet deleted on the source) counts once,
 * at the higher version.
 *
 * Moves: a customer is copied to the target, then flipped, then deleted on the source. Reading
 * the source after the delete and the target before the copy would miss the customer's orders,
 * and the recalculation would wipe their facts. That needs a flip between the first read and the
 * last, so the map is compared before and after: when a move reached its flip meanwhile, every
 * database is read again (at most MAP_CHANGE_ATTEMPTS times; then the run fails and is retried).
 */

/** The columns of an order fact with their types (those of `read_models.seller_order_facts`). */
const FACT_COLUMNS = `order_id uuid, seller_id uuid, version int, gross_minor bigint, status varchar(20),
  placed_at timestamptz(3), paid_at timestamptz(3), refunded boolean`;
const FACT_VALUES = ['version', 'gross_minor', 'status', 'placed_at', 'paid_at', 'refunded'] as const;

/** Orders per page read on a shard, by default. */
export const SHARD_PAGE_ORDERS = 5_000;
export const MAP_CHANGE_ATTEMPTS = 5;

/**
 * The facts (one per order and seller) of the orders `ordersSql` yields (a SELECT of `orders`'
 * id, status and created_at), each with its order's latest event version: the one definition,
 * run on every database.
 */
export function orderFactsSql(ordersSql: string): string {
  return `WITH o AS NOT MATERIALIZED (${ordersSql}),
    ev AS (SELECT e.aggregate_id, max(e.version) AS version FROM domain_events e
           WHERE e.aggregate_type = 'order' AND e.aggregate_id IN (SELECT id FROM o) GROUP BY e.aggregate_id)
    SELECT l.order_id, l.seller_id, COALESCE(ev.version, 0) AS version,
      sum(l.line_total_minor)::bigint AS gross_minor, o.status, o.created_at AS placed_at,
      p.created_at AS paid_at,
      (p.status = 'REFUNDED' OR EXISTS (SELECT 1 FROM refunds r WHERE r.payment_id = p.id)) IS TRUE AS refunded
    FROM o
    JOIN order_lines l ON l.order_id = o.id
    LEFT JOIN payments p ON p.order_id = o.id
    LEFT JOIN ev ON ev.aggregate_id = o.id
    GROUP BY l.order_id, l.seller_id, ev.version, o.status, o.created_at, p.id, p.created_at, p.status`;
}

const ALL_ORDERS = `SELECT id, status, created_at FROM orders`;

/** One page of a database's facts: the orders after `$1` by id, at most `$2`, and the last of them. */
const PAGE_SQL = `WITH page AS MATERIALIZED (
    SELECT id, status, created_at FROM orders WHERE id > $1::uuid ORDER BY id LIMIT $2)
  SELECT (SELECT id::text FROM page ORDER BY id DESC LIMIT 1) AS last_id,
    (SELECT COALESCE(json_agg(f), '[]')::text FROM (${orderFactsSql('SELECT * FROM page')}) f) AS facts`;

const NO_ORDER = '00000000-0000-0000-0000-000000000000';

/** Creates `table` (temporary, dropped at commit) for the facts, keyed as the fact table is. */
export async function createFactsTable(tx: Tx, table: string): Promise<void> {
  await tx.$executeRawUnsafe(
    `CREATE TEMP TABLE ${table} (${FACT_COLUMNS}, PRIMARY KEY (order_id, seller_id)) ON COMMIT DROP`,
  );
}

/** Adds facts to `table`; a fact already there is replaced only by a higher version. */
function upsertFactsSql(table: string, selectSql: string): string {
  const values = FACT_VALUES.join(', ');
  return `INSERT INTO ${table} AS t (order_id, seller_id, ${values}) ${selectSql}
    ON CONFLICT (order_id, seller_id) DO UPDATE SET (${values}) = (${FACT_VALUES.map((c) => `EXCLUDED.${c}`).join(', ')})
    WHERE EXCLUDED.version > t.version`;
}

/** Copies every fact of one database other than the read database into `table`, page by page. */
async function copyFacts(tx: Tx, table: string, source: Database, pageOrders: number): Promise<void> {
  for (let after = NO_ORDER; ;) {
    const [page] = await source.$queryRawUnsafe<{ last_id: string | null; facts: string }[]>(
      PAGE_SQL,
      after,
      pageOrders,
    );
    if (!page?.last_id) return;
    await tx.$executeRawUnsafe(
      upsertFactsSql(table, `SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${FACT_COLUMNS})`),
      page.facts,
    );
    after = page.last_id;
  }
}

/**
 * Whether some key may have been flipped to another shard between the two lists of moves (pure):
 * a move at or past its flip now that was not so before (or did not exist), or a move short of
 * its flip before that is now gone or flipped. A move already flipped before is harmless: its
 * target held the copy before the first read.
 */
export function flipMayHaveHappened(before: readonly ShardMove[], after: readonly ShardMove[]): boolean {
  const flipped = (move: ShardMove | undefined) => move !== undefined && isPastOrAt(move.state, 'FLIPPED');
  const earlier = new Map(before.map((move) => [move.partitionKey, move]));
  const later = new Map(after.map((move) => [move.partitionKey, move]));
  for (const move of after) if (flipped(move) && !flipped(earlier.get(move.partitionKey))) return true;
  for (const move of before)
    if (!flipped(move) && (!later.has(move.partitionKey) || flipped(later.get(move.partitionKey)))) return true;
  return false;
}

/** The map changed while the facts were read, every time they were read. */
export class ShardMapChangingError extends Error {
  constructor(attempts: number) {
    super(`the shard map kept changing (a key flipped) while the order facts were read, ${attempts} times`);
    this.name = 'ShardMapChangingError';
  }
}

/**
 * Fills `table` (made by createFactsTable) with the order facts of every database of the map:
 * `tx` is the read database's transaction, `catalogue` its client (whose own facts are read in
 * `tx`).
 */
export async function readOrderFacts(
  tx: Tx,
  table: string,
  catalogue: Database,
  router: ShardRouter,
  pageOrders = SHARD_PAGE_ORDERS,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const version = await router.refresh();
    const movesBefore = await listMoves(catalogue);
    const others = (await router.databases()).filter((db) => db !== catalogue);

    await tx.$executeRawUnsafe(upsertFactsSql(table, orderFactsSql(ALL_ORDERS)));
    for (const source of others) await copyFacts(tx, table, source, pageOrders);

    if ((await router.refresh()) === version) return;
    if (!flipMayHaveHappened(movesBefore, await listMoves(catalogue))) return;
    if (attempt >= MAP_CHANGE_ATTEMPTS) throw new ShardMapChangingError(attempt);
    await tx.$executeRawUnsafe(`DELETE FROM ${table}`);
  }
}
