import type { RedisClient } from '../platform/redis';
import type { Database, Tx } from '../platform/database';
import type { Logger } from '../platform/logger';

/**
 * Consumers of the outbox streams (events/outbox-relay.ts publishes them) on Redis consumer groups.
 *
 * Delivery is at least once: the relay may publish an event twice (killed after XADD, before its
 * commit; or `shopflow outbox republish`), and an entry is redelivered until it is acknowledged.
 * The effect is exactly once: each event is handled inside a database transaction that first
 * records (group, event id) in `consumer_inbox`; an event already there is acknowledged and
 * skipped. The inbox row and the handler's writes commit together or not at all.
 *
 * Order: one consumer handles its entries in stream order and retries a failed entry before
 * going on, so an aggregate's events take effect in the order the relay published them. Several
 * consumers in one group share the work but not that guarantee.
 */

export interface StreamEvent {
  /** The Redis entry id (changes when the event is published again). */
  entryId: string;
  eventId: string;
  aggregateType: string;
  aggregateId: string;
  version: number;
  eventType: string;
  payload: unknown;
  /** The outbox sequence: where `shopflow outbox republish --from-sequence` would start. */
  sequence: bigint;
}

export interface ConsumeOptions {
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  redis: RedisClient;
  db: Database;
  stream: string;
  /** The logical consumer: its inbox rows are keyed by it. */
  group: string;
  /** This instance's name within the group. */
  consumer: string;
  /** Handles one event in its own transaction. Give either this or `handleBatch`. */
  handle?(event: StreamEvent, tx: Tx): Promise<void>;
  /**
   * Handles every new event of one read (up to `count`, in stream order, duplicates and events
   * handled before left out) in one transaction: far fewer commits and round trips than one per
   * event. A failure rolls the whole read back and retries it.
   */
  handleBatch?(events: StreamEvent[], tx: Tx): Promise<void>;
  /** Runs after the handler's transaction committed (not for skipped duplicates), before the ack. */
  afterCommit?(event: StreamEvent): Promise<void>;
  /** Runs after the handler's transaction failed (it rolled back); the entry will be retried. */
  afterRollback?(event: StreamEvent): Promise<void>;
  /** `afterCommit` and `afterRollback` for `handleBatch`. */
  afterBatchCommit?(events: StreamEvent[]): Promise<void>;
  afterBatchRollback?(events: StreamEvent[]): Promise<void>;
  signal?: AbortSignal;
  logger?: Logger;
  /** Entries per read. */
  count?: number;
  blockMs?: number;
  /** Entries pending this long at another (crashed) consumer are claimed by this one. */
  claimIdleMs?: number;
  /** Wait before retrying after a failed handler or an unreachable Redis. */
  retryDelayMs?: number;
}

type RawEntry = [id: string, fields: string[]] | null;

export function parseStreamEntry(entryId: string, fields: string[]): StreamEvent {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  const need = (name: string): string => {
    const value = map.get(name);
    if (value === undefined) throw new Error(`stream entry ${entryId} has no ${name}`);
    return value;
  };
  return {
    entryId,
    eventId: need('event_id'),
    aggregateType: need('aggregate_type'),
    aggregateId: need('aggregate_id'),
    version: Number(need('version')),
    eventType: need('event_type'),
    payload: JSON.parse(need('payload')) as unknown,
    sequence: BigInt(need('sequence')),
  };
}

/** Handles one event exactly once (per group); returns false when it had been handled before. */
export async function handleOnce(
  db: Database,
  group: string,
  event: StreamEvent,
  handle: (event: StreamEvent, tx: Tx) => Promise<void>,
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const inserted = await tx.$executeRaw`
      INSERT INTO consumer_inbox (consumer, event_id) VALUES (${group}, ${event.eventId}::uuid)
      ON CONFLICT DO NOTHING`;
    if (inserted === 0) return false;
    await handle(event, tx);
    return true;
  });
}

/** Creates the group (reading the stream from its start) unless it exists. */
export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
  }
}

/** Runs until the signal aborts. Handler errors and Redis outages are logged and retried. */
export async function consume(options: ConsumeOptions): Promise<void> {
  const { redis, stream, group, consumer, signal } = options;
  const count = options.count ?? 100;
  const blockMs = options.blockMs ?? 1_000;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const retryDelayMs = options.retryDelayMs ?? 500;
  // Our own unacknowledged entries (from before a crash or a failed handler) go first.
  let backlog = true;
  let nextClaim = 0;
  await ensureGroupWithRetry(options, retryDelayMs);
  while (!signal?.aborted) {
    try {
      let entries: RawEntry[];
      if (Date.now() >= nextClaim) {
        nextClaim = Date.now() + Math.max(claimIdleMs / 2, 100);
        // Entries a crashed consumer left pending become ours; they join our backlog.
        await claimIdle(redis, stream, group, consumer, claimIdleMs, count);
        backlog = true;
      }
      if (backlog) {
        entries = readEntries(await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '0'));
        if (entries.length === 0) backlog = false;
      } else {
        entries = readEntries(
          await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, '>'),
        );
      }
      if (options.handleBatch) {
        if (signal?.aborted) return;
        if (!(await handleEntries(options, entries))) {
          backlog = true;
          await sleep(retryDelayMs, signal);
        }
      } else {
        for (const entry of entries) {
          if (signal?.aborted) return;
          if (!(await handleEntry(options, entry))) {
            backlog = true;
            await sleep(retryDelayMs, signal);
            break;
          }
        }
      }
    } catch (error) {
      if (String((error as Error).message).startsWith('NOGROUP')) {
        // The stream (or Redis's whole dataset) is gone: start again from whatever it holds now.
        options.logger?.warn({ stream, group }, 'consumer group missing; creating it again');
        await ensureGroupWithRetry(options, retryDelayMs);
        backlog = false;
        continue;
      }
      options.logger?.warn({ err: error, stream, group }, 'reading the stream failed; retrying');
      await sleep(retryDelayMs, signal);
    }
  }
}

/** Returns false when the handler failed: the entry stays pending and is retried first. */
async function handleEntry(options: ConsumeOptions, entry: RawEntry): Promise<boolean> {
  const { redis, stream, group } = options;
  if (entry === null) return true;
  const [entryId, fields] = entry;
  let event: StreamEvent;
  try {
    event = parseStreamEntry(entryId, fields);
  } catch (error) {
    // It can never succeed: retrying would stop this consumer for good.
    options.logger?.error({ err: error, stream, entryId }, 'malformed stream entry; acknowledged and skipped');
    await redis.xack(stream, group, entryId);
    return true;
  }
  try {
    const handled = await handleOnce(options.db, group, event, (e, tx) => options.handle!(e, tx));
    if (handled) await options.afterCommit?.(event);
  } catch (error) {
    options.logger?.warn({ err: error, stream, entryId, eventId: event.eventId }, 'handler failed; will retry');
    await options.afterRollback?.(event).catch(() => undefined);
    return false;
  }
  await redis.xack(stream, group, entryId);
  return true;
}

/** Batch mode: one transaction for a whole read. Returns false when it failed (retried first). */
async function handleEntries(options: ConsumeOptions, entries: RawEntry[]): Promise<boolean> {
  const { redis, stream, group } = options;
  const events: StreamEvent[] = [];
  const malformed: string[] = [];
  for (const entry of entries) {
    if (entry === null) continue;
    try {
      events.push(parseStreamEntry(entry[0], entry[1]));
    } catch (error) {
      options.logger?.error(
        { err: error, stream, entryId: entry[0] },
        'malformed stream entry; acknowledged and skipped',
      );
      malformed.push(entry[0]);
    }
  }
  if (malformed.length > 0) await redis.xack(stream, group, ...malformed);
  if (events.length === 0) return true;
  let fresh: StreamEvent[];
  try {
    fresh = await options.db.$transaction(
      async (tx) => {
        const inserted = await tx.$queryRawUnsafe<{ event_id: string }[]>(
          `INSERT INTO consumer_inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])
           ON CONFLICT DO NOTHING RETURNING event_id::text`,
          group,
          events.map((e) => e.eventId),
        );
        const isNew = new Set(inserted.map((r) => r.event_id));
        // An event published twice can appear twice in one read: handled once.
        const batch = events.filter((e) => isNew.delete(e.eventId));
        if (batch.length > 0) await options.handleBatch!(batch, tx);
        return batch;
      },
      { timeout: 60_000, maxWait: 10_000 },
    );
  } catch (error) {
    options.logger?.warn({ err: error, stream, entries: events.length }, 'batch handler failed; will retry');
    await options.afterBatchRollback?.(events).catch(() => undefined);
    return false;
  }
  if (fresh.length > 0) await options.afterBatchCommit?.(fresh);
  await redis.xack(stream, group, ...events.map((e) => e.entryId));
  return true;
}

async function claimIdle(
  redis: RedisClient,
  stream: string,
  group: string,
  consumer: string,
  minIdleMs: number,
  count: number,
): Promise<void> {
  let cursor = '0-0';
  do {
    const [next] = (await redis.xautoclaim(stream, group, consumer, minIdleMs, cursor, 'COUNT', count, 'JUSTID')) as [
      string,
      unknown,
    ];
    cursor = next;
  } while (cursor !== '0-0');
}

function readEntries(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply)) return [];
  return (reply as [string, RawEntry[]][]).flatMap(([, entries]) => entries);
}

async function ensureGroupWithRetry(
  options: Pick<ConsumeOptions, 'redis' | 'stream' | 'group' | 'signal' | 'logger'>,
  retryDelayMs: number,
): Promise<void> {
  while (!options.signal?.aborted) {
    try {
      await ensureGroup(options.redis, options.stream, options.group);
      return;
    } catch (error) {
      options.logger?.warn({ err: error, stream: options.stream }, 'could not create the consumer group; retrying');
      await sleep(retryDelayMs, options.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ConsumeGroupsOptions {
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  redis: RedisClient;
  stream: string;
  /** Consumer groups on the one stream, each read in stream order; all handled together. */
  groups: readonly string[];
  /** This instance's name within each group. */
  consumer: string;
  /**
   * Handles the new entries of one round, by group (only groups with entries), all at once (e.g.
   * in one transaction). Exactly once is the handler's to keep: there is no inbox here, and an
   * entry may come again (redelivered, published twice). A throw leaves every entry pending; they
   * are read again first.
   */
  handle(batches: ReadonlyMap<string, StreamEvent[]>): Promise<void>;
  signal?: AbortSignal;
  logger?: Logger;
  /** Entries per group per round. */
  count?: number;
  blockMs?: number;
  /**
   * Rounds of fewer than `count` entries start at least this long apart, so that entries trickling
   * in are handled together: fewer, larger rounds for at most this much latency. After a quiet
   * spell an entry is handled at once.
   */
  lingerMs?: number;
  claimIdleMs?: number;
  retryDelayMs?: number;
  /**
   * Called when the stream reads again after trouble: a failed read, an error or a lost node of
   * the connection (a client that queues while Redis is away may never see a read fail), or a
   * consumer group that had to be created again. Entries published meanwhile may be gone (a Redis
   * restarted empty, a failover that lost what the old master had not replicated): the caller's
   * cue to catch up from the source of truth.
   */
  onResumed?: () => void;
}

/**
 * Reads several consumer groups of one stream in rounds and hands each round's entries to one
 * handler call: the groups' reads and acknowledgements travel in one pipeline each. While every
 * group is idle it blocks on the first group (they all follow the same stream, so new entries wake
 * it for all), then reads the others. Runs until the signal aborts; errors are logged and retried.
 */
export async function consumeGroups(options: ConsumeGroupsOptions): Promise<void> {
  const { redis, stream, groups, consumer, signal } = options;
  const count = options.count ?? 100;
  const blockMs = options.blockMs ?? 1_000;
  const lingerMs = options.lingerMs ?? 0;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const retryDelayMs = options.retryDelayMs ?? 500;
  // Groups with entries of ours still pending (from before a crash or a failed round) go first.
  let backlog = new Set(groups);
  let nextClaim = 0;
  for (const group of groups) await ensureGroupWithRetry({ ...options, group }, retryDelayMs);
  let troubled = false;
  const noteTrouble = (): void => {
    troubled = true;
  };
  const troubleEvents = ['error', 'node error', '-node'] as const;
  for (const event of troubleEvents) redis.on(event, noteTrouble);
  const readingAgain = (): void => {
    if (!troubled) return;
    troubled = false;
    options.onResumed?.();
  };

  const readGroups = async (which: readonly string[], from: '0' | '>'): Promise<Map<string, RawEntry[]>> => {
    const pipeline = redis.pipeline();
    for (const group of which) pipeline.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, from);
    const replies = (await pipeline.exec()) ?? [];
    const read = new Map<string, RawEntry[]>();
    replies.forEach(([error, reply], i) => {
      if (error) throw error;
      const entries = readEntries(reply);
      if (entries.length > 0) read.set(which[i]!, entries);
    });
    return read;
  };
  const total = (read: Map<string, RawEntry[]>): number => [...read.values()].reduce((n, e) => n + e.length, 0);
  // Group commit: a round that is not full starts no sooner than `lingerMs` after the last one
  // began. Entries arriving after a quiet spell are handled at once; a steady trickle, in rounds
  // at most `lingerMs` apart.
  let lastRoundAt = 0;
  const pace = async (): Promise<void> => {
    const wait = lastRoundAt + lingerMs - Date.now();
    if (wait > 0) await sleep(wait, signal);
  };

  try {
    while (!signal?.aborted) {
      try {
        if (Date.now() >= nextClaim) {
          nextClaim = Date.now() + Math.max(claimIdleMs / 2, 100);
          // Entries a crashed consumer left pending become ours; they join our backlog.
          for (const group of groups) await claimIdle(redis, stream, group, consumer, claimIdleMs, count);
          backlog = new Set(groups);
        }
        let read: Map<string, RawEntry[]>;
        if (backlog.size > 0) {
          read = await readGroups([...backlog], '0');
          readingAgain();
          for (const group of backlog) if (!read.has(group)) backlog.delete(group);
        } else {
          read = await readGroups(groups, '>');
          readingAgain();
          if (read.size === 0) {
            const first = readEntries(
              await redis.xreadgroup(
                'GROUP',
                groups[0]!,
                consumer,
                'COUNT',
                count,
                'BLOCK',
                blockMs,
                'STREAMS',
                stream,
                '>',
              ),
            );
            if (first.length === 0) continue;
            if (lingerMs > 0 && first.length < count) await pace();
            read = await readGroups(groups, '>');
            read.set(groups[0]!, [...first, ...(read.get(groups[0]!) ?? [])]);
          }
        }
        if (read.size === 0) continue;
        if (signal?.aborted) return;
        lastRoundAt = Date.now();
        if (!(await handleRound(options, read))) {
          backlog = new Set(groups);
          await sleep(retryDelayMs, signal);
        } else if (backlog.size === 0 && lingerMs > 0 && total(read) < count) {
          await pace();
        }
      } catch (error) {
        if (String((error as Error).message).startsWith('NOGROUP')) {
          // The stream (or Redis's whole dataset) is gone: start again from whatever it holds now.
          options.logger?.warn({ stream, groups }, 'consumer group missing; creating it again');
          for (const group of groups) await ensureGroupWithRetry({ ...options, group }, retryDelayMs);
          backlog = new Set();
          troubled = true;
          continue;
        }
        options.logger?.warn({ err: error, stream, groups }, 'reading the stream failed; retrying');
        troubled = true;
        backlog = new Set(groups);
        await sleep(retryDelayMs, signal);
      }
    }
  } finally {
    for (const event of troubleEvents) redis.off(event, noteTrouble);
  }
}

/** One round: parse, handle, acknowledge (one pipeline). False when the handler failed. */
async function handleRound(options: ConsumeGroupsOptions, read: Map<string, RawEntry[]>): Promise<boolean> {
  const { redis, stream } = options;
  const batches = new Map<string, StreamEvent[]>();
  const acks = new Map<string, string[]>();
  for (const [group, entries] of read) {
    const events: StreamEvent[] = [];
    const ids: string[] = [];
    for (const entry of entries) {
      if (entry === null) continue;
      ids.push(entry[0]);
      try {
        events.push(parseStreamEntry(entry[0], entry[1]));
      } catch (error) {
        // It can never succeed: retrying would stop this consumer for good. Acknowledged below.
        options.logger?.error(
          { err: error, stream, group, entryId: entry[0] },
          'malformed stream entry; acknowledged and skipped',
        );
      }
    }
    if (events.length > 0) batches.set(group, events);
    if (ids.length > 0) acks.set(group, ids);
  }
  if (batches.size > 0) {
    try {
      await options.handle(batches);
    } catch (error) {
      options.logger?.warn(
        { err: error, stream, entries: [...batches.values()].reduce((n, e) => n + e.length, 0) },
        'batch handler failed; will retry',
      );
      return false;
    }
  }
  if (acks.size > 0) {
    const pipeline = redis.pipeline();
    for (const [group, ids] of acks) pipeline.xack(stream, group, ...ids);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }
  return true;
}
