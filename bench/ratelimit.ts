import os from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { Redis } from 'ioredis';
import pino from 'pino';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { loadConfigOrExit } from '../platform/config';
import { createTokenBuckets, type Bucket } from '../access/rate-limit';
import { quantile, round } from './support/load';
import { writeResults } from './support/results';
import { positiveInt } from '../platform/command-line';

/**
 * Question: how many rate-limit checks per second does our token-bucket script (access/rate-limit.ts,
 * the code the API runs) serve, against the npm package rate-limiter-flexible (RateLimiterRedis,
 * `consume`: a fixed-window counter, one Lua script per check) on the same Redis, same concurrency?
 *
 * Each side: one ioredis client, `--concurrency` checks in flight, `--checks` checks spread over
 * `--keys` keys, on an emptied Redis database `--redis-db`. Sides alternate for `--rounds` rounds;
 * figures are the medians of the rounds. Also measured: the API's real case, two buckets per request
 * (caller and IP), which we check in one call and rate-limiter-flexible needs two `consume`s for.
 * Results: bench/results/ratelimit.json.
 */

interface Options {
  checks: number;
  rounds: number;
  concurrency: number;
  keys: number;
  redisDb: number;
}

function redisDbIndex(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 15) throw new InvalidArgumentError('must be 1..15 (never 0)');
  return n;
}

/** Limits that refuse some checks: with 5 checks per key per round, a burst of 4 refuses one in five. */
const BURST = 4;
const PER_SECOND = 1;

interface Round {
  checksPerS: number;
  p50Ms: number;
  p99Ms: number;
  allowed: number;
  limited: number;
}

/** `checks` calls of `check(i)`, `concurrency` in flight; the boolean says whether the check allowed. */
async function run(checks: number, concurrency: number, check: (i: number) => Promise<boolean>): Promise<Round> {
  const latencies: number[] = [];
  let next = 0;
  let allowed = 0;
  const startedAt = performance.now();
  const worker = async (): Promise<void> => {
    while (next < checks) {
      const i = next++;
      const sentAt = performance.now();
      if (await check(i)) allowed += 1;
      latencies.push(performance.now() - sentAt);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = (performance.now() - startedAt) / 1000;
  return {
    checksPerS: checks / elapsedS,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    allowed,
    limited: checks - allowed,
  };
}

const median = (values: number[]): number => quantile(values, 0.5);

async function main(): Promise<void> {
  const options = new Command('bench:ratelimit')
    .description('rate-limit checks per second: our token-bucket script vs rate-limiter-flexible on one Redis')
    .option('--checks <n>', 'checks per side per round', positiveInt('--checks'), 50_000)
    .option('--rounds <n>', 'alternating rounds (figures are medians)', positiveInt('--rounds'), 5)
    .option('--concurrency <n>', 'checks in flight per side', positiveInt('--concurrency'), 64)
    .option('--keys <n>', 'distinct keys the checks are spread over', positiveInt('--keys'), 10_000)
    .option('--redis-db <n>', 'Redis database to empty and use (1..15)', redisDbIndex, 4)
    .parse()
    .opts<Options>();
  const config = loadConfigOrExit();
  const logger = pino({ level: 'info' });
  const url = new URL(config.redis.url);
  url.pathname = `/${options.redisDb}`;
  const ours = new Redis(url.toString());
  const theirs = new Redis(url.toString());

  const figures: Record<string, number | string> = {
    checks_per_round: options.checks,
    rounds: options.rounds,
    concurrency: options.concurrency,
    keys: options.keys,
    burst: BURST,
    refill_per_s: PER_SECOND,
    cpus: os.cpus().length,
    load_average_1m_at_start: round(os.loadavg()[0]!, 2),
  };
  try {
    const tokens = createTokenBuckets(ours, { timeoutMs: 10_000 });
    const bucket = (scope: string, i: number): Bucket => ({
      key: `bench:ours:${scope}:${i % options.keys}`,
      burst: BURST,
      perSecond: PER_SECOND,
    });
    const flexible = (scope: string) =>
      new RateLimiterRedis({
        storeClient: theirs,
        keyPrefix: `bench:flexible:${scope}`,
        points: BURST,
        duration: BURST / PER_SECOND,
      });
    const flexibleKey = flexible('key');
    const flexibleIp = flexible('ip');
    // consume() rejects with a RateLimiterRes when refused, with an Error when Redis fails.
    const consume = (limiter: RateLimiterRedis, key: string) =>
      limiter.consume(key).then(
        () => true,
        (refusal: unknown) => {
          if (refusal instanceof RateLimiterRes) return false;
          throw refusal;
        },
      );

    const sides: Record<string, (i: number) => Promise<boolean>> = {
      ours: async (i) => (await tokens.take([bucket('key', i)])).allowed,
      flexible: (i) => consume(flexibleKey, String(i % options.keys)),
      ours_2buckets: async (i) => (await tokens.take([bucket('key', i), bucket('ip', i * 7)])).allowed,
      // Two consumes, as rate-limiter-flexible has no all-or-none check of two limiters on Redis.
      flexible_2consumes: async (i) => {
        const [a, b] = await Promise.all([
          consume(flexibleKey, String(i % options.keys)),
          consume(flexibleIp, String((i * 7) % options.keys)),
        ]);
        return a && b;
      },
    };
    const rounds: Record<string, Round[]> = Object.fromEntries(Object.keys(sides).map((name) => [name, []]));
    // Warm-up: scripts loaded, connections open, JIT warm.
    for (const check of Object.values(sides)) await run(2_000, options.concurrency, check);

    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? Object.keys(sides) : Object.keys(sides).reverse();
      for (const name of order) {
        await ours.flushdb();
        const result = await run(options.checks, options.concurrency, sides[name]!);
        rounds[name]!.push(result);
        logger.info({ round: r + 1, side: name, ...result }, 'round done');
      }
    }

    for (const [name, results] of Object.entries(rounds)) {
      figures[`${name}_checks_per_s`] = Math.round(median(results.map((x) => x.checksPerS)));
      figures[`${name}_p50_ms`] = round(median(results.map((x) => x.p50Ms)), 3);
      figures[`${name}_p99_ms`] = round(median(results.map((x) => x.p99Ms)), 3);
      figures[`${name}_limited_share`] = round(median(results.map((x) => x.limited / options.checks)), 3);
    }
    const perS = (name: string) => figures[`${name}_checks_per_s`] as number;
    figures['ratio_ours_vs_flexible'] = round(perS('ours') / perS('flexible'), 2);
    figures['ratio_ours_2buckets_vs_flexible_2consumes'] = round(perS('ours_2buckets') / perS('flexible_2consumes'), 2);
    figures['load_average_1m_at_end'] = round(os.loadavg()[0]!, 2);
  } finally {
    await ours.flushdb().catch(() => undefined);
    ours.disconnect();
    theirs.disconnect();
  }
  const file = writeResults('ratelimit', figures);
  logger.info({ file, ...figures }, 'benchmark written');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:ratelimit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
