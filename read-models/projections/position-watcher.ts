import { LRUCache } from 'lru-cache';
import { Client } from 'pg';
import type { Database } from '../../platform/database';
import type { Logger } from '../../platform/logger';
import { sqlPoolOf } from '../../platform/sql-pool';
import { positionsReached } from './consistency';
import type { EventPosition } from './projection';

/**
 * Read-your-writes waits without polling. Every commit that moves a projection's positions
 * notifies on `projection_positions` (a statement trigger, migration 20261207040000), naming the
 * aggregates and versions it applied; one LISTEN connection per process wakes exactly the waiters
 * those positions satisfy. Notifications are not durable (a dropped connection misses some), so
 * each waiter also looks again now and then, and once more when its time runs out.
 *
 * A wait usually costs no query at all: while one connection stays up, the watcher remembers the
 * versions it heard of, and the aggregates this process saw created after it connected (`expectNew`:
 * every version of those will be heard of). Only a wait on an aggregate it knows nothing of
 * starts with a query; a reconnect forgets everything, since notifications may have been missed.
 */

export const POSITIONS_CHANNEL = 'projection_positions';

const RECONNECT_MS = 1_000;

export interface PositionWatcherOptions {
  /** How often a waiter looks again on its own, in case a notification was missed. */
  safetyCheckMs?: number;
  /** How many aggregates' versions are remembered (least recently heard of forgotten first). */
  rememberedAggregates?: number;
}

export interface PositionWatcher {
  /** True once `projection` applied every position; false when `timeoutMs` ran out first. */
  waitFor(projection: string, positions: readonly EventPosition[], timeoutMs: number): Promise<boolean>;
  /** Call before the aggregate's first event can exist (an order about to be started): no projection has applied it. */
  expectNew(aggregateId: string): void;
  close(): Promise<void>;
}

interface Waiter {
  projection: string;
  /** Versions still awaited, by aggregate id. */
  missing: Map<string, number>;
  positions: readonly EventPosition[];
  settle(reached: boolean): void;
}

export async function startPositionWatcher(
  db: Database,
  logger: Logger,
  { safetyCheckMs = 5_000, rememberedAggregates = 100_000 }: PositionWatcherOptions = {},
): Promise<PositionWatcher> {
  const waiters = new Set<Waiter>();
  let listener: Client | undefined;
  let closed = false;
  // Heard on the current connection only: `${projection} ${aggregateId}` → version applied.
  const heard = new LRUCache<string, number>({ max: rememberedAggregates });
  const created = new LRUCache<string, true>({ max: rememberedAggregates });
  const forget = (): void => {
    heard.clear();
    created.clear();
  };
  /** The version `projection` applied of `aggregateId`, when this connection's notifications tell it. */
  const knownVersion = (projection: string, aggregateId: string): number | undefined =>
    heard.get(`${projection} ${aggregateId}`) ?? (created.has(aggregateId) ? 0 : undefined);

  const lookAgain = (waiter: Waiter): void => {
    positionsReached(db, waiter.projection, waiter.positions).then(
      (reached) => reached && waiter.settle(true),
      (error: unknown) => logger.warn({ err: error }, 'read-your-writes check failed; will look again'),
    );
  };

  const onNotification = (payload: string | undefined): void => {
    const space = payload?.indexOf(' ') ?? -1;
    if (!payload || space < 0) return;
    const projection = payload.slice(0, space);
    const moved = payload.slice(space + 1);
    const applied = new Map<string, number>();
    if (moved === '*')
      forget(); // too many to name: nothing known stays exact
    else {
      for (const position of moved.split(',')) {
        const [id, version] = position.split(':');
        if (!id || !version) continue;
        applied.set(id, Number(version));
        const key = `${projection} ${id}`;
        heard.set(key, Math.max(heard.get(key) ?? 0, Number(version)));
      }
    }
    for (const waiter of waiters) {
      if (waiter.projection !== projection) continue;
      if (moved === '*') {
        lookAgain(waiter);
        continue;
      }
      for (const [id, wanted] of waiter.missing) {
        if ((applied.get(id) ?? 0) >= wanted) waiter.missing.delete(id);
      }
      if (waiter.missing.size === 0) waiter.settle(true);
    }
  };

  const connect = async (): Promise<void> => {
    const client = new Client({ connectionString: sqlPoolOf(db).options.connectionString });
    client.on('notification', (message) => onNotification(message.payload));
    client.on('error', (error) => {
      logger.warn({ err: error }, 'read-your-writes listener lost its connection; reconnecting');
      listener = undefined;
      forget();
      client.end().catch(() => undefined);
      if (!closed) setTimeout(() => void connect().catch(() => undefined), RECONNECT_MS).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${POSITIONS_CHANNEL}`);
    listener = client;
    // Whatever moved while no one listened: every waiter looks again.
    for (const waiter of waiters) lookAgain(waiter);
  };
  await connect();

  return {
    waitFor(projection, positions, timeoutMs) {
      if (positions.length === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve, reject) => {
        const timers: NodeJS.Timeout[] = [];
        /** Ends the wait once: with an answer, or with the error of a look that failed. */
        const end = (outcome: { reached: boolean } | { error: unknown }): void => {
          if (!waiters.delete(waiter)) return;
          for (const timer of timers) clearTimeout(timer);
          if ('reached' in outcome) resolve(outcome.reached);
          else reject(outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error)));
        };
        const waiter: Waiter = {
          projection,
          positions,
          missing: new Map(positions.map((p) => [p.aggregateId, p.version])),
          settle: (reached) => end({ reached }),
        };
        const look = (answer: (reached: boolean) => void): void => {
          positionsReached(db, projection, positions).then(answer, (error: unknown) => end({ error }));
        };
        // Registered before the first look, so a commit between the two is not missed.
        waiters.add(waiter);
        timers.push(
          setInterval(() => lookAgain(waiter), safetyCheckMs),
          setTimeout(() => look((reached) => end({ reached })), timeoutMs),
        );
        const known = listener ? positions.map((p) => knownVersion(projection, p.aggregateId)) : [];
        if (known.length === 0 || known.includes(undefined)) {
          look((reached) => reached && end({ reached }));
          return;
        }
        // Known: what is reached is no longer missing; the notifications of the rest are still to come.
        positions.forEach((p, i) => known[i]! >= p.version && waiter.missing.delete(p.aggregateId));
        if (waiter.missing.size === 0) end({ reached: true });
      });
    },

    expectNew(aggregateId) {
      if (listener) created.set(aggregateId, true);
    },

    async close() {
      closed = true;
      for (const waiter of [...waiters]) waiter.settle(false);
      await listener?.end();
      listener = undefined;
    },
  };
}
