import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { createReadCache } from '../../read-models/cache';
import { loadConfigOrExit, type Config } from '../../platform/config';
import { createDatabase, type Database } from '../../platform/database';
import { projectionNamed, projections } from '../../read-models/projections';
import { measureLags } from '../../read-models/projections/lag';
import type { Projection } from '../../read-models/projections/projection';
import { rebuildProjection } from '../../read-models/projections/rebuild';
import { createProcessShardRouter } from '../../platform/shards/router';
import { createRedis, openRedis, type RedisClient } from '../../platform/redis';
import { UsageError } from '../history-sources';
import { progressBar } from '../../platform/command-line';
import { printJson } from '../output';

/**
 * `shopflow projections`: operate the read models (read-models/projections). `status` shows each one's
 * progress and lag; `rebuild` builds one (or all) again from the event store into fresh tables and
 * swaps them in atomically while the API keeps reading the old ones and the projector keeps running.
 */
export function projectionsCommand(): Command {
  const command = new Command('projections').description(
    `Operate the read models: ${projections.map((p) => p.name).join(', ')}.`,
  );
  command
    .command('status')
    .description('Show each projection: events applied, last event, last rebuild, and lag behind the event store.')
    .option('--json', 'print as JSON', false)
    .action(async (options: { json: boolean }) => {
      const rows = await withServices(async ({ db, redis }) => {
        const statuses = await db.$queryRawUnsafe<StatusRow[]>(
          `SELECT projection, events_applied::text AS events_applied, last_event_at, last_applied_at, rebuilt_at,
                  rebuild_events::text AS rebuild_events, rebuild_ms
           FROM read_models.projection_status`,
        );
        // Without Redis the lag is unknown (null), the rest is still shown.
        const lags = await measureLags(db, redis, projections).catch(() => undefined);
        return projections.map((projection) => {
          const status = statuses.find((s) => s.projection === projection.name);
          const lag = lags?.find((l) => l.projection === projection.name);
          return {
            projection: projection.name,
            eventsApplied: Number(status?.events_applied ?? 0),
            lastEventAt: status?.last_event_at?.toISOString() ?? null,
            lastAppliedAt: status?.last_applied_at?.toISOString() ?? null,
            rebuiltAt: status?.rebuilt_at?.toISOString() ?? null,
            rebuildMs: status?.rebuild_ms ?? null,
            lagEvents: lag?.events ?? null,
            lagSeconds: lag ? Number(lag.seconds.toFixed(1)) : null,
          };
        });
      });
      if (options.json) {
        printJson(rows);
        return;
      }
      for (const r of rows) {
        const lag =
          r.lagEvents === null ? 'lag unknown (Redis unavailable)' : `${r.lagEvents} events / ${r.lagSeconds} s behind`;
        process.stdout.write(
          `${r.projection}: ${r.eventsApplied} events applied, ${lag}, last rebuilt ${r.rebuiltAt ?? 'never'}\n`,
        );
      }
    });
  command
    .command('rebuild')
    .description(
      'Rebuild a read model (all when no name is given) from the event store into fresh tables, then swap\n' +
        'them in atomically. Safe while the API and the projector run; the cache is invalidated after the swap.',
    )
    .argument('[name]', `one of ${projections.map((p) => p.name).join(', ')}`)
    .option('--batch-size <n>', 'events per batch (default PROJECTION_REBUILD_BATCH_SIZE)', parseBatchSize)
    .option('--json', 'print the result as JSON', false)
    .action(async (name: string | undefined, options: { batchSize?: number; json: boolean }) => {
      const chosen = name === undefined ? projections : [requireProjection(name)];
      const results = await withServices(async ({ db, redis, config }) => {
        // Without Redis the rebuild still runs; cached entries then live until their TTL.
        const cache =
          redis.status === 'ready'
            ? createReadCache({ redis, ttlMs: config.cache.ttlMs, logger: pino({ level: 'silent' }) })
            : undefined;
        if (!cache) process.stderr.write('shopflow: Redis unavailable: cached reads expire by their TTL only\n');
        const done = [];
        // Every shard's events too (docs/sharding.md); the router opens a shard's client only when asked.
        const router = createProcessShardRouter(db, config);
        try {
          for (const projection of chosen) {
            const bar = progressBar({ enabled: !options.json, unit: ' events' });
            const result = await rebuildProjection({
              db,
              projection,
              batchSize: options.batchSize ?? config.projections.rebuildBatchSize,
              ...(cache ? { cache } : {}),
              shards: { router, readDb: db },
              onProgress: (p) => bar.show(`${projection.name} ${p.phase}`, p.applied, p.total),
            }).finally(() => bar.stop());
            done.push({ projection: projection.name, ...result });
            if (!options.json) {
              process.stdout.write(`${projection.name}: rebuilt from ${result.events} events in ${result.ms} ms\n`);
            }
          }
        } finally {
          await router.close();
        }
        return done;
      });
      if (options.json) printJson(results);
    });
  return command;
}

interface StatusRow {
  projection: string;
  events_applied: string;
  last_event_at: Date | null;
  last_applied_at: Date | null;
  rebuilt_at: Date | null;
  rebuild_events: string | null;
  rebuild_ms: number | null;
}

function requireProjection(name: string): Projection {
  const projection = projectionNamed(name);
  if (!projection) {
    throw new UsageError(`unknown projection "${name}"; expected one of ${projections.map((p) => p.name).join(', ')}`);
  }
  return projection;
}

function parseBatchSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new InvalidArgumentError('must be a whole number from 1 to 100000');
  return n;
}

async function withServices<T>(
  use: (services: { db: Database; redis: RedisClient; config: Config }) => Promise<T>,
): Promise<T> {
  const config = loadConfigOrExit();
  const db = createDatabase(config);
  const redis = createRedis(config, 'shopflow-cli');
  redis.on('error', () => undefined);
  await openRedis(redis).catch(() => undefined);
  try {
    return await use({ db, redis, config });
  } finally {
    await db.$disconnect();
    redis.disconnect();
  }
}
