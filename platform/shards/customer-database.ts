import { customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../database';
import { sqlPoolOf } from '../sql-pool';
import type { createShardRouter, ShardRouter } from './router';

/**
 * A customer's database for code outside the saga and the order API that is handed the catalogue
 * client (the catalogue's reviews, API keys, the seed, the dashboards' recalculation): the
 * customer's shard, as the router says for `customer:{customerId}`. A customer being moved is a
 * PartitionFencedError, as everywhere.
 */

export async function customerShardDatabase(router: ShardRouter, customerId: string): Promise<Database> {
  return (await router.databaseFor(customerPartitionKey(customerId))).db;
}

/**
 * Runs `work` with `given`, or, when the caller has no router, with one made for it over
 * `catalogue` (its map read when first asked, then at most every DEFAULT_MAP_MAX_STALENESS_MS) and
 * closed afterwards: for one-off work such as a command, a seed or a scheduled recalculation,
 * where a process-wide router is not at hand.
 */
export async function withShardRouter<T>(
  catalogue: Database,
  given: ShardRouter | undefined,
  work: (router: ShardRouter) => Promise<T>,
): Promise<T> {
  if (given) return work(given);
  // Required when first needed: the router brings the Prisma client with it, and the worker's
  // module graph (which reaches here through the dashboards' activity) is also loaded by Jest's
  // globalSetup, which does not map the generated client's `.js` imports to its `.ts` sources. A
  // dynamic import() would not do: the CLI runs through tsx's require hook, not its ESM loader.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const router = (require('./router') as { createShardRouter: typeof createShardRouter }).createShardRouter({
    catalogue,
    database: { url: sqlPoolOf(catalogue).options.connectionString ?? '', poolSize: 2 },
  });
  try {
    return await work(router);
  } finally {
    await router.close();
  }
}
