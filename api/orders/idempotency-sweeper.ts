import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import type { ShardRouter } from '../../platform/shards/router';
import { createIdempotencyStore, type IdempotencyStore } from './idempotency';

export interface IdempotencySweeper {
  /** Stops the timer and waits for a sweep under way. */
  stop(): Promise<void>;
}

/**
 * Deletes expired idempotency keys every `intervalMs` (expired keys already count as absent; this
 * only keeps the table small). The timer is unref'd: it never keeps the process alive on its own.
 */
export function startIdempotencySweeper(
  store: Pick<IdempotencyStore, 'sweepExpired'>,
  intervalMs: number,
  logger: Logger,
): IdempotencySweeper {
  let running: Promise<void> | undefined;
  const sweep = async (): Promise<void> => {
    try {
      const deleted = await store.sweepExpired();
      if (deleted > 0) logger.info({ deleted }, 'expired idempotency keys deleted');
    } catch (error) {
      // The next round tries again; a database that is away shows on /health/ready.
      logger.warn({ err: error }, 'sweeping expired idempotency keys failed');
    }
  };
  const timer = setInterval(() => {
    // One sweep at a time: a slow one is not overtaken by the next tick.
    running ??= sweep().finally(() => {
      running = undefined;
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Deletes the expired keys of every database of the shard map (each customer's keys are on their
 * shard); returns how many. Maintenance of each database, not a question asked of every shard.
 */
export async function sweepEveryShard(shards: ShardRouter, settings: Config['idempotency']): Promise<number> {
  let deleted = 0;
  for (const db of await shards.databases()) deleted += await createIdempotencyStore(db, settings).sweepExpired();
  return deleted;
}
