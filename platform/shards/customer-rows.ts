import type { Database, Tx } from '../database';

/**
 * A customer's order-side rows, the unit the rebalancer moves between shards: which rows they are
 * (one statement per table), copying them to another shard, a digest to compare both sides, and
 * deleting them from the source. Plain SQL over the one schema every shard has, so that a table
 * is copied whole, column for column, without a list of fields to keep in step with the schema.
 *
 * Rows travel as JSON text that is never parsed here: bigint amounts and positions keep every
 * digit, and timestamps their milliseconds.
 */

/** `$1` is the customer id in every `where`. */
const ORDERS = `(SELECT id FROM orders WHERE customer_id = $1::uuid)`;
/** The aggregates of a customer: their orders (events, snapshots and outbox rows are keyed by aggregate). */
const AGGREGATES = `(SELECT id FROM orders WHERE customer_id = $1::uuid UNION SELECT $1::uuid)`;

interface PartitionTable {
  table: string;
  where: string;
  /** A total order on the table's rows that is the same on every shard (a key, never a serial). */
  orderBy: string;
  /** Serial columns the target assigns afresh: each shard has its own sequence, so copied values would collide. */
  assignedByTarget?: string[];
}

/**
 * Parents before children: the order rows are inserted in, and deleted in reverse. Idempotency
 * keys are the order API's for this customer: made with a customer's key (scope ends with the
 * customer) or naming one of their orders as the resource they created.
 */
const TABLES: readonly PartitionTable[] = [
  { table: 'customers', where: `id = $1::uuid`, orderBy: 'id' },
  { table: 'customer_addresses', where: `customer_id = $1::uuid`, orderBy: 'id' },
  { table: 'orders', where: `customer_id = $1::uuid`, orderBy: 'id' },
  { table: 'order_lines', where: `order_id IN ${ORDERS}`, orderBy: 'order_id, line_no' },
  // Not reservations: stock held for the orders stays with the stock, in the catalogue database,
  // whichever shard the orders are on (migration 20261207170000_partition_boundary_foreign_keys).
  { table: 'payments', where: `order_id IN ${ORDERS}`, orderBy: 'id' },
  { table: 'refunds', where: `payment_id IN (SELECT id FROM payments WHERE order_id IN ${ORDERS})`, orderBy: 'id' },
  { table: 'shipments', where: `order_id IN ${ORDERS}`, orderBy: 'id' },
  {
    table: 'idempotency_keys',
    where: `(scope LIKE '% customer:' || $1::text OR resource_id IN ${ORDERS})`,
    orderBy: 'scope, key',
  },
  {
    table: 'domain_events',
    where: `aggregate_id IN ${AGGREGATES}`,
    orderBy: 'aggregate_id, version',
    assignedByTarget: ['position'],
  },
  { table: 'aggregate_snapshots', where: `aggregate_id IN ${AGGREGATES}`, orderBy: 'aggregate_id, version' },
  {
    table: 'outbox_events',
    where: `aggregate_id IN ${AGGREGATES}`,
    // Inserted in the source's sequence order so the target's relay publishes them in that order.
    orderBy: 'sequence',
    assignedByTarget: ['sequence'],
  },
];

/** Checksums order outbox rows by event, not by sequence, which differs between shards. */
const DIGEST_ORDER: Record<string, string> = { outbox_events: 'aggregate_id, version' };

/**
 * Catalogue rows the moved rows name (sellers and products of order lines and shipments): copied
 * to the target when missing, never deleted, not part of the customer's rows. No foreign key needs
 * them there any more (migration 20261207170000): they keep a shard's rows readable on their own.
 */
const REFERENCED: readonly PartitionTable[] = [
  {
    table: 'sellers',
    where: `id IN (SELECT seller_id FROM order_lines WHERE order_id IN ${ORDERS}
                   UNION SELECT seller_id FROM shipments WHERE order_id IN ${ORDERS}
                   UNION SELECT seller_id FROM products WHERE id IN (SELECT product_id FROM order_lines WHERE order_id IN ${ORDERS}))`,
    orderBy: 'id',
  },
  {
    table: 'products',
    where: `id IN (SELECT product_id FROM order_lines WHERE order_id IN ${ORDERS})`,
    orderBy: 'id',
  },
];

export interface TableDigest {
  rows: number;
  checksum: string;
}

/** Per table: how many rows and an MD5 over them in a fixed order (serial columns left out). */
export type PartitionDigest = Record<string, TableDigest>;

type Rows = Record<string, string>;

/** A transaction whose timestamps render in UTC, so that JSON text compares equal across servers. */
async function inUtc<T>(
  db: Database,
  isolationLevel: 'RepeatableRead' | 'Serializable',
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  return db.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(`SET LOCAL TIME ZONE 'UTC'`);
      return work(tx);
    },
    { isolationLevel, timeout: 60_000, maxWait: 10_000 },
  );
}

function rowJson(table: PartitionTable): string {
  const dropped = (table.assignedByTarget ?? []).map((c) => ` - '${c}'`).join('');
  return `(to_jsonb(t)${dropped})`;
}

async function selectRows(tx: Tx, tables: readonly PartitionTable[], customerId: string): Promise<Rows> {
  const rows: Rows = {};
  for (const table of tables) {
    const [found] = await tx.$queryRawUnsafe<{ rows: string }[]>(
      `SELECT coalesce(jsonb_agg(${rowJson(table)} ORDER BY ${table.orderBy}), '[]'::jsonb)::text AS rows
       FROM ${table.table} t WHERE ${table.where}`,
      customerId,
    );
    rows[table.table] = found!.rows;
  }
  return rows;
}

async function digestIn(tx: Tx, customerId: string): Promise<PartitionDigest> {
  const digest: PartitionDigest = {};
  for (const table of TABLES) {
    const order = DIGEST_ORDER[table.table] ?? table.orderBy;
    const [found] = await tx.$queryRawUnsafe<{ rows: number; checksum: string }[]>(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(${rowJson(table)}::text, E'\\n' ORDER BY ${order}), '')) AS checksum
       FROM ${table.table} t WHERE ${table.where}`,
      customerId,
    );
    digest[table.table] = found!;
  }
  return digest;
}

async function deleteIn(tx: Tx, customerId: string): Promise<number> {
  let deleted = 0;
  for (const table of [...TABLES].reverse()) {
    deleted += await tx.$executeRawUnsafe(`DELETE FROM ${table.table} WHERE ${table.where}`, customerId);
  }
  return deleted;
}

/** Columns of a table minus those the target assigns, quoted, in table order. */
async function insertColumns(tx: Tx, table: PartitionTable): Promise<string> {
  const [found] = await tx.$queryRawUnsafe<{ columns: string }[]>(
    `SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) AS columns
     FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 AND NOT (column_name = ANY($2::text[]))`,
    table.table,
    table.assignedByTarget ?? [],
  );
  return found!.columns;
}

async function insertRows(tx: Tx, table: PartitionTable, rows: string, onConflict = ''): Promise<number> {
  if (rows === '[]') return 0;
  const columns = await insertColumns(tx, table);
  return tx.$executeRawUnsafe(
    `INSERT INTO ${table.table} (${columns})
     SELECT ${columns} FROM jsonb_populate_recordset(NULL::${table.table}, $1::jsonb) ${onConflict}`,
    rows,
  );
}

/** The customer's rows on one database, digested; all zero when they are not there. */
export async function digestCustomerRows(db: Database, customerId: string): Promise<PartitionDigest> {
  return inUtc(db, 'RepeatableRead', (tx) => digestIn(tx, customerId));
}

export function totalRows(digest: PartitionDigest): number {
  return Object.values(digest).reduce((sum, t) => sum + t.rows, 0);
}

/** Table by table, where two digests differ (empty when they agree). */
export function digestDifferences(source: PartitionDigest, target: PartitionDigest): string[] {
  return TABLES.flatMap(({ table }) => {
    const s = source[table];
    const t = target[table];
    if (s?.rows === t?.rows && s?.checksum === t?.checksum) return [];
    return [`${table}: ${s?.rows ?? 0} rows on the source, ${t?.rows ?? 0} on the target, checksums differ`];
  });
}

export interface CopyResult {
  /** Rows written to the target (the customer's; catalogue rows they reference are not counted). */
  rows: number;
  /** The source's rows as copied. */
  digest: PartitionDigest;
}

/**
 * Makes the target's rows of the customer exactly the source's: the source is read in one
 * snapshot, and in one transaction on the target the customer's rows there (an earlier attempt's)
 * are replaced. Running it twice gives the same rows. Undefined, and nothing written, when the
 * source has no such customer: a copy never empties a target.
 */
export async function copyCustomerRows(
  source: Database,
  target: Database,
  customerId: string,
): Promise<CopyResult | undefined> {
  const read = await inUtc(source, 'RepeatableRead', async (tx) => ({
    rows: await selectRows(tx, TABLES, customerId),
    referenced: await selectRows(tx, REFERENCED, customerId),
    digest: await digestIn(tx, customerId),
  }));
  if (read.rows['customers'] === '[]') return undefined;
  const rows = await inUtc(target, 'RepeatableRead', async (tx) => {
    await deleteIn(tx, customerId);
    for (const table of REFERENCED)
      await insertRows(tx, table, read.referenced[table.table]!, 'ON CONFLICT DO NOTHING');
    let written = 0;
    for (const table of TABLES) written += await insertRows(tx, table, read.rows[table.table]!);
    return written;
  });
  return { rows, digest: read.digest };
}

/**
 * Deletes the customer's rows from the source, but only if they are still exactly `expected`
 * (what the target holds): a write that reached the source after the copy (a writer whose map was
 * older than the fence) is never lost. Serializable, so a write racing the delete fails one of
 * the two rather than slipping between the check and the delete.
 */
export async function deleteCustomerRowsIfUnchanged(
  source: Database,
  customerId: string,
  expected: PartitionDigest,
): Promise<{ deleted: number } | { changed: string[] }> {
  return inUtc(source, 'Serializable', async (tx) => {
    const changed = digestDifferences(await digestIn(tx, customerId), expected);
    if (changed.length > 0) return { changed };
    return { deleted: await deleteIn(tx, customerId) };
  });
}

/** Deletes whatever rows of the customer a database has (a copy that is given up). */
export async function deleteCustomerRows(db: Database, customerId: string): Promise<number> {
  return inUtc(db, 'RepeatableRead', (tx) => deleteIn(tx, customerId));
}

/** The ids of every customer on one database, in id order. */
export async function customerIdsIn(db: Database): Promise<string[]> {
  const rows = await db.customer.findMany({ select: { id: true }, orderBy: { id: 'asc' } });
  return rows.map((r) => r.id);
}
