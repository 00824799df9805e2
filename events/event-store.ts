import { applyOrderEvent, ORDER_AGGREGATE, type OrderEvent } from '../domain/order-events';
import { applyProductEvent, PRODUCT_AGGREGATE, type ProductEvent } from '../domain/product-events';
import type { Database, Tx } from '../platform/database';
import { isUniqueViolation } from '../platform/database-errors';
import type { SqlClient } from '../platform/sql-pool';
import { eventStreamName } from './outbox-relay';

/**
 * The domain event store: what happened to each aggregate, in version order, appended inside the
 * writer's own transaction together with the outbox rows the relay publishes. A change to the
 * write model, its events and its outbox rows commit together or not at all.
 *
 * Appends are optimistic: the writer says which version it saw, and the unique
 * (aggregate_id, version) turns a concurrent append into a ConcurrencyError. A retried step (same
 * causation key) finds its events and appends nothing. Every SNAPSHOT_EVERY versions the state is
 * saved, so rebuilding never folds more than that many events.
 */

/** Read-only access: a transaction or the client itself. */
type Reader = Tx | Database;

export const DEFAULT_SNAPSHOT_EVERY = 100;

export interface NewEvent {
  type: string;
  payload: unknown;
}

/** Which saga step caused an event, so the audit trail leads back to the workflow history. */
export interface Correlation {
  workflowId?: string;
  runId?: string;
  activity?: string;
  /** Identifies the step attempt-independently (e.g. its idempotency key): a retry carries the same one. */
  causationKey: string;
  userId?: string;
}

export interface AppendRequest {
  aggregateType: string;
  aggregateId: string;
  /** The version the writer saw; undefined appends after the current head (the writer holds the aggregate's lock). */
  expectedVersion: number | undefined;
  events: NewEvent[];
  correlation: Correlation;
}

export interface StoredEvent {
  eventId: string;
  aggregateType: string;
  aggregateId: string;
  version: number;
  type: string;
  payload: unknown;
  occurredAt: Date;
  correlation: Correlation;
}

export interface AppendResult {
  events: StoredEvent[];
  /** False when a retry found the events of its first attempt and appended nothing. */
  appended: boolean;
  version: number;
}

export interface StoreOptions {
  snapshotEvery?: number;
  reducers?: ReducerRegistry;
}

/** Another writer appended first: the caller re-reads and retries, or reports the conflict. */
export class ConcurrencyError extends Error {
  readonly type = 'ConcurrencyError';
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number | undefined,
  ) {
    super(
      `${aggregateType} ${aggregateId}: expected version ${expectedVersion}, ` +
        (actualVersion === undefined ? 'another writer appended first' : `found version ${actualVersion}`),
    );
    this.name = 'ConcurrencyError';
  }
}

export type Reducer<S = unknown> = (state: S | undefined, event: NewEvent) => S;
export type ReducerRegistry = ReadonlyMap<string, Reducer>;

/** The reducers by aggregate type: what snapshots and rebuilds fold events with. */
export const defaultReducers: ReducerRegistry = new Map<string, Reducer>([
  [
    ORDER_AGGREGATE,
    (state, event) => applyOrderEvent(state as Parameters<typeof applyOrderEvent>[0], event as OrderEvent),
  ],
  [
    PRODUCT_AGGREGATE,
    (state, event) => applyProductEvent(state as Parameters<typeof applyProductEvent>[0], event as ProductEvent),
  ],
]);

/** The aggregate's version: the number of its events, 0 when it has none. */
export async function currentVersion(tx: Reader, aggregateId: string): Promise<number> {
  const last = await tx.domainEvent.findFirst({
    where: { aggregateId },
    orderBy: { version: 'desc' },
    select: { version: true },
  });
  return last?.version ?? 0;
}

/**
 * The whole append as one statement, so a saga step pays one round trip for it: find the step's
 * earlier events (a retry), read the head, insert the events at the versions after it (only when
 * there was no earlier attempt and the head is the expected one), insert their outbox rows, and
 * say what happened. A concurrent writer that slipped in trips the unique (aggregate_id, version).
 */
/** A domain_events row under the names `storedEvent` reads (Prisma's field names). */
const storedColumns = `id, aggregate_type AS "aggregateType", aggregate_id AS "aggregateId", version,
  event_type AS "eventType", payload, occurred_at AS "occurredAt", workflow_id AS "workflowId", run_id AS "runId",
  activity, causation_key AS "causationKey", user_id AS "userId"`;

const appendStatement = `
WITH head AS (
  SELECT coalesce(max(version), 0) AS version, max(occurred_at) AS occurred_at
  FROM (SELECT version, occurred_at FROM domain_events
        WHERE aggregate_id = $1::uuid ORDER BY version DESC LIMIT 1) AS last
), earlier AS (
  SELECT * FROM domain_events WHERE aggregate_id = $1::uuid AND causation_key = $2
), inserted AS (
  INSERT INTO domain_events (id, aggregate_type, aggregate_id, version, event_type, payload, occurred_at,
                             user_id, partition_key, stream_id, workflow_id, run_id, activity, causation_key)
  SELECT gen_random_uuid(), $3, $1::uuid, head.version + e.ordinality, e.type, e.payload,
         -- Never earlier than the previous event, so time order and version order agree for "as of" reads.
         greatest(date_trunc('milliseconds', clock_timestamp()), head.occurred_at),
         $4, $1::text, $5, $6, $7, $8, $2
  FROM head, ROWS FROM (jsonb_to_recordset($9::jsonb) AS (type text, payload jsonb)) WITH ORDINALITY AS e
  WHERE NOT EXISTS (SELECT 1 FROM earlier) AND ($10::int IS NULL OR head.version = $10::int)
  RETURNING *
), outbox AS (
  INSERT INTO outbox_events (event_id, aggregate_type, aggregate_id, version, event_type, payload, stream)
  SELECT id, aggregate_type, aggregate_id, version, event_type, payload, $11 FROM inserted
)
SELECT 'earlier' AS source, ${storedColumns} FROM earlier
UNION ALL SELECT 'inserted', ${storedColumns} FROM inserted
UNION ALL SELECT 'head', NULL, NULL, NULL, version, NULL, NULL, occurred_at, NULL, NULL, NULL, NULL, NULL FROM head
ORDER BY version`;

interface EventRow extends StoredEventRow {
  source: 'earlier' | 'inserted' | 'head';
}

/** A transaction of either kind: Prisma's (most writers) or a plain pg one (saga steps, platform/sql-pool.ts). */
export type AppendTx = Tx | SqlClient;

/** Runs SQL text in either kind of transaction and returns its rows. */
function runnerOf(tx: AppendTx): <R>(text: string, values: unknown[]) => Promise<R[]> {
  if ('$queryRawUnsafe' in tx) return (text, values) => tx.$queryRawUnsafe(text, ...values);
  return async <R>(text: string, values: unknown[]) => (await tx.query(text, values)).rows as R[];
}

/**
 * Appends `events` as the versions after `expectedVersion` (after the current head when it is
 * undefined: the caller holds the aggregate's lock), with their outbox rows, in the caller's
 * transaction. Call it after the aggregate is locked (orders: lockOrder) so the head read here is
 * the one appended on; the unique index still guards writers that do not.
 */
export async function appendEvents(
  tx: AppendTx,
  request: AppendRequest,
  options: StoreOptions = {},
): Promise<AppendResult> {
  const { aggregateType, aggregateId, expectedVersion, correlation } = request;
  const run = runnerOf(tx);
  let rows: EventRow[];
  try {
    rows = await run<EventRow>(appendStatement, [
      aggregateId,
      correlation.causationKey,
      aggregateType,
      correlation.userId ?? null,
      `${aggregateType}-${aggregateId}`,
      correlation.workflowId ?? null,
      correlation.runId ?? null,
      correlation.activity ?? null,
      JSON.stringify(request.events.map(({ type, payload }) => ({ type, payload }))),
      expectedVersion ?? null,
      eventStreamName(aggregateType),
    ]);
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ConcurrencyError(aggregateType, aggregateId, expectedVersion ?? -1, undefined);
    throw error;
  }
  const head = rows.find((row) => row.source === 'head')!.version;
  const earlier = rows.filter((row) => row.source === 'earlier');
  if (earlier.length > 0) {
    return { events: earlier.map(storedEvent), appended: false, version: earlier[earlier.length - 1]!.version };
  }
  const inserted = rows.filter((row) => row.source === 'inserted');
  if (request.events.length === 0) return { events: [], appended: false, version: head };
  if (inserted.length === 0) throw new ConcurrencyError(aggregateType, aggregateId, expectedVersion ?? head, head);

  const version = head + inserted.length;
  await snapshotIfDue(run, aggregateType, aggregateId, head, version, options);
  return { events: inserted.map(storedEvent), appended: true, version };
}

export interface LoadOptions extends StoreOptions {
  asOfVersion?: number;
  asOfTime?: Date;
  /** False: fold every event from the first (what the snapshot test compares against). */
  useSnapshots?: boolean;
}

export interface LoadedAggregate<S> {
  state: S;
  version: number;
  /** When the last event folded in happened. */
  occurredAt: Date;
}

/**
 * The aggregate's state now, or as of a version or a time (the earlier of the two when both are
 * given): the latest snapshot at or before that point, then the events after it. Undefined when
 * the aggregate had no events by then.
 */
export async function loadAggregate<S = unknown>(
  db: Reader,
  aggregateType: string,
  aggregateId: string,
  options: LoadOptions = {},
): Promise<LoadedAggregate<S> | undefined> {
  const reduce = reducerFor(aggregateType, options.reducers);
  const last = await db.domainEvent.findFirst({
    where: {
      aggregateId,
      ...(options.asOfVersion !== undefined ? { version: { lte: options.asOfVersion } } : {}),
      ...(options.asOfTime !== undefined ? { occurredAt: { lte: options.asOfTime } } : {}),
    },
    orderBy: { version: 'desc' },
    select: { version: true, occurredAt: true },
  });
  if (!last) return undefined;
  const target = last.version;

  const snapshot =
    options.useSnapshots === false
      ? null
      : await db.aggregateSnapshot.findFirst({
          where: { aggregateId, version: { lte: target } },
          orderBy: { version: 'desc' },
        });
  const events = await db.domainEvent.findMany({
    where: { aggregateId, version: { gt: snapshot?.version ?? 0, lte: target } },
    orderBy: { version: 'asc' },
    select: { eventType: true, payload: true },
  });
  let state = (snapshot?.state ?? undefined) as S | undefined;
  for (const event of events) state = reduce(state, { type: event.eventType, payload: event.payload }) as S;
  return { state: state as S, version: target, occurredAt: last.occurredAt };
}

/** One page of an aggregate's events after `afterVersion`, in version order. */
export async function readEvents(
  db: Reader,
  aggregateId: string,
  { afterVersion = 0, limit }: { afterVersion?: number; limit: number },
): Promise<StoredEvent[]> {
  const rows = await db.domainEvent.findMany({
    where: { aggregateId, version: { gt: afterVersion } },
    orderBy: { version: 'asc' },
    take: limit,
  });
  return rows.map(storedEvent);
}

/**
 * Saves the state at each multiple of SNAPSHOT_EVERY that this append crossed, folding from the
 * latest earlier snapshot, in the append's own transaction.
 */
async function snapshotIfDue(
  run: ReturnType<typeof runnerOf>,
  aggregateType: string,
  aggregateId: string,
  fromVersion: number,
  toVersion: number,
  options: StoreOptions,
): Promise<void> {
  const every = options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
  const due = Math.floor(toVersion / every) * every;
  if (due <= fromVersion) return;
  const reduce = reducerFor(aggregateType, options.reducers);
  const [snapshot] = await run<{ version: number; state: unknown }>(
    `SELECT version, state FROM aggregate_snapshots
     WHERE aggregate_id = $1::uuid AND version <= $2::int ORDER BY version DESC LIMIT 1`,
    [aggregateId, fromVersion],
  );
  const events = await run<{ version: number; event_type: string; payload: unknown }>(
    `SELECT version, event_type, payload FROM domain_events
     WHERE aggregate_id = $1::uuid AND version > $2::int AND version <= $3::int ORDER BY version`,
    [aggregateId, snapshot?.version ?? 0, due],
  );
  let state = snapshot?.state;
  for (const event of events) {
    state = reduce(state, { type: event.event_type, payload: event.payload });
    if (event.version % every === 0 && event.version > fromVersion) {
      await run(
        `INSERT INTO aggregate_snapshots (aggregate_id, aggregate_type, version, state)
         VALUES ($1::uuid, $2, $3::int, $4::jsonb)`,
        [aggregateId, aggregateType, event.version, JSON.stringify(state)],
      );
    }
  }
}

function reducerFor(aggregateType: string, reducers: ReducerRegistry = defaultReducers): Reducer {
  const reduce = reducers.get(aggregateType);
  if (!reduce) throw new Error(`no reducer registered for aggregate type ${aggregateType}`);
  return reduce;
}

/** A domain_events row as Prisma returns it, or SQL under `storedColumns`. */
interface StoredEventRow {
  id: string;
  aggregateType: string;
  aggregateId: string;
  version: number;
  eventType: string;
  payload: unknown;
  occurredAt: Date;
  workflowId: string | null;
  runId: string | null;
  activity: string | null;
  causationKey: string | null;
  userId: string | null;
}

function storedEvent(row: StoredEventRow): StoredEvent {
  return {
    eventId: row.id,
    aggregateType: row.aggregateType,
    aggregateId: row.aggregateId,
    version: row.version,
    type: row.eventType,
    payload: row.payload,
    occurredAt: row.occurredAt,
    correlation: {
      causationKey: row.causationKey ?? '',
      ...(row.workflowId !== null ? { workflowId: row.workflowId } : {}),
      ...(row.runId !== null ? { runId: row.runId } : {}),
      ...(row.activity !== null ? { activity: row.activity } : {}),
      ...(row.userId !== null ? { userId: row.userId } : {}),
    },
  };
}
