import { randomUUID } from 'node:crypto';
import { applyOrderEvent, ORDER_AGGREGATE, type OrderEvent } from '../domain/order-events';
import { applyProductEvent, PRODUCT_AGGREGATE, type ProductEvent } from '../domain/product-events';
import type { Prisma } from '../generated/prisma/client';
import type { Database } from './database';
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

export type Tx = Prisma.TransactionClient;
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
  expectedVersion: number;
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
 * Appends `events` as versions expectedVersion+1…, with their outbox rows, in the caller's
 * transaction. Call it after the aggregate is locked (orders: lockOrder) so the expected version
 * read under the lock is the one appended on; the unique index still guards writers that do not.
 */
export async function appendEvents(tx: Tx, request: AppendRequest, options: StoreOptions = {}): Promise<AppendResult> {
  const { aggregateType, aggregateId, expectedVersion, correlation } = request;
  const earlier = await tx.domainEvent.findMany({
    where: { aggregateId, causationKey: correlation.causationKey },
    orderBy: { version: 'asc' },
  });
  if (earlier.length > 0) {
    return { events: earlier.map(storedEvent), appended: false, version: earlier[earlier.length - 1]!.version };
  }
  if (request.events.length === 0) return { events: [], appended: false, version: expectedVersion };

  const last = await tx.domainEvent.findFirst({
    where: { aggregateId },
    orderBy: { version: 'desc' },
    select: { version: true, occurredAt: true },
  });
  const actual = last?.version ?? 0;
  if (actual !== expectedVersion) throw new ConcurrencyError(aggregateType, aggregateId, expectedVersion, actual);

  // Never earlier than the previous event, so time order and version order agree for "as of" reads.
  const occurredAt = new Date(Math.max(Date.now(), last?.occurredAt.getTime() ?? 0));
  const rows = request.events.map((event, index) => ({
    id: randomUUID(),
    aggregateType,
    aggregateId,
    version: expectedVersion + index + 1,
    eventType: event.type,
    payload: event.payload as Prisma.InputJsonValue,
    occurredAt,
    userId: correlation.userId ?? null,
    partitionKey: aggregateId,
    streamId: `${aggregateType}-${aggregateId}`,
    workflowId: correlation.workflowId ?? null,
    runId: correlation.runId ?? null,
    activity: correlation.activity ?? null,
    causationKey: correlation.causationKey,
  }));
  try {
    await tx.domainEvent.createMany({ data: rows });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConcurrencyError(aggregateType, aggregateId, expectedVersion, undefined);
    throw error;
  }
  await tx.outboxEvent.createMany({
    data: rows.map((row) => ({
      eventId: row.id,
      aggregateType,
      aggregateId,
      version: row.version,
      eventType: row.eventType,
      payload: row.payload,
      stream: eventStreamName(aggregateType),
      status: 'PENDING',
    })),
  });
  const version = expectedVersion + rows.length;
  await snapshotIfDue(tx, aggregateType, aggregateId, expectedVersion, version, options);
  return { events: rows.map(storedEvent), appended: true, version };
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

async function snapshotIfDue(
  tx: Tx,
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
  // Only the boundaries crossed by this append; the fold starts from the latest earlier snapshot.
  const loaded = await loadAggregate(tx, aggregateType, aggregateId, { ...options, asOfVersion: fromVersion });
  let state = loaded?.state;
  const events = await tx.domainEvent.findMany({
    where: { aggregateId, version: { gt: fromVersion, lte: due } },
    orderBy: { version: 'asc' },
    select: { version: true, eventType: true, payload: true },
  });
  for (const event of events) {
    state = reduce(state, { type: event.eventType, payload: event.payload });
    if (event.version % every === 0) {
      await tx.aggregateSnapshot.create({
        data: { aggregateId, aggregateType, version: event.version, state: state as Prisma.InputJsonValue },
      });
    }
  }
}

function reducerFor(aggregateType: string, reducers: ReducerRegistry = defaultReducers): Reducer {
  const reduce = reducers.get(aggregateType);
  if (!reduce) throw new Error(`no reducer registered for aggregate type ${aggregateType}`);
  return reduce;
}

function storedEvent(row: {
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
}): StoredEvent {
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

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'P2002';
}
