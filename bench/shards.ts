import os from 'node:os';
import { Command } from 'commander';
import { DEFAULT_VIRTUAL_NODES, HashRing } from '../domain/sharding/hash-ring';
import { parseLevels, phaseProgress, positiveInt } from '../platform/command-line';
import { ringHash } from '../platform/shards/ring-hash';
import { customerKeys, shardIds } from '../test/support/customer-keys';
import { quantile, round } from './support/load';
import { writeResults } from './support/results';

/**
 * Question: what does routing a partition key through the consistent-hash ring
 * (domain/sharding/hash-ring.ts, placed by platform/shards/ring-hash.ts as the router places it)
 * cost and give, against the plain `hash mod N` it replaces?
 *
 * - Lookup cost: ns per lookup on a ring of `--lookup-shards` shards, beside `ringHash(key) mod N`
 *   over the same keys in the same run (the same hash, so the ratio is what the ring's search adds),
 *   medians of `--rounds` alternating rounds.
 * - Keys moved when a shard joins N = 1..4 shards, as a fraction of the ideal 1/(N+1), and whether
 *   any key moved to a shard other than the new one; `hash mod N` moves for contrast.
 * - Load spread: the most loaded shard's keys over the mean at `--keys` keys, N = 2, 4, 8, 16.
 * - How the spread depends on the virtual-node count (`--sweep`): for each count, the exact share
 *   of the ring each shard owns (HashRing.shares) over `--naming-sets` sets of random shard ids
 *   and N = 2..16, the median and the worst max/mean. This is the measurement the default
 *   (DEFAULT_VIRTUAL_NODES) was chosen from: see docs/sharding.md.
 *
 * The keys are `customer:{uuid}` from a seeded generator, the same on every run. Pure CPU, one
 * process, no services. Orders per second with 1, 2 and 4 shards and rebalance throughput need the
 * whole platform and several PostgreSQL servers: bench/shard-orders.ts
 * (bench/results/shard-orders.json). Results: bench/results/shards.json.
 */

interface Options {
  keys: number;
  lookups: number;
  lookupShards: number;
  rounds: number;
  virtualNodes: number;
  sweep: number[];
  namingSets: number;
}

/** ns per call of `lookup` over the keys, cycling through them `lookups` times in all. */
function timeLookups(keys: readonly string[], lookups: number, lookup: (key: string) => number): number {
  let sink = 0;
  const startedAt = process.hrtime.bigint();
  for (let i = 0; i < lookups; i++) sink ^= lookup(keys[i % keys.length]!);
  const elapsedNs = Number(process.hrtime.bigint() - startedAt);
  // The result is used, so the loop cannot be optimised away.
  if (sink === 0.5) process.stderr.write('');
  return elapsedNs / lookups;
}

/** Keys per shard, from keys hashed once (hashing is most of a lookup's cost). */
function countByShard(ring: HashRing, hashes: readonly number[]): Map<string, number> {
  const counts = new Map(ring.shardIds.map((id) => [id, 0]));
  for (const position of hashes) {
    const shard = ring.shardAt(position);
    counts.set(shard, counts.get(shard)! + 1);
  }
  return counts;
}

function maxOverMean(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.max(...values) / mean;
}

/** Shard ids as random as an operator's naming could make them (seeded: the same on every run). */
function randomShardIds(count: number, set: number): string[] {
  return customerKeys(count, 1000 + set).map((key) => `pg-${key.slice(-12)}`);
}

/** A ring placed by shopflow's hash (platform/shards/ring-hash.ts), as the router builds it. */
const ringOf = (ids: readonly string[], virtualNodes: number): HashRing =>
  new HashRing(ids, { hash: ringHash, virtualNodes });

function main(): void {
  const options = new Command('bench/shards.ts')
    .description('consistent-hash ring: lookup cost vs hash mod N, keys moved when a shard joins, load spread')
    .option('--keys <n>', 'partition keys for the moved share and the spread', positiveInt('--keys'), 1_000_000)
    .option('--lookups <n>', 'lookups per timed round', positiveInt('--lookups'), 2_000_000)
    .option(
      '--lookup-shards <n>',
      'shards of the ring and of mod N in the timed lookups',
      positiveInt('--lookup-shards'),
      4,
    )
    .option('--rounds <n>', 'alternating timed rounds (figures are medians)', positiveInt('--rounds'), 5)
    .option(
      '--virtual-nodes <n>',
      'points per shard on the ring',
      positiveInt('--virtual-nodes'),
      DEFAULT_VIRTUAL_NODES,
    )
    .option(
      '--sweep <counts>',
      'virtual-node counts to compare, e.g. 250,1000',
      parseLevels,
      [100, 250, 500, 1000, 1500, 2000],
    )
    .option('--naming-sets <n>', 'sets of random shard ids per count in the sweep', positiveInt('--naming-sets'), 40)
    .parse()
    .opts<Options>();

  const bar = phaseProgress(5, 'generating keys');
  const keys = customerKeys(options.keys);
  const figures: Record<string, number | string> = {
    keys: options.keys,
    virtual_nodes: options.virtualNodes,
    naming_sets: options.namingSets,
    hash: 'ketama_md5',
    cpus: os.cpus().length,
    load_average_1m_at_start: round(os.loadavg()[0]!, 2),
  };

  bar.next('timing lookups');
  const n = options.lookupShards;
  const ids = shardIds(n);
  const ring = ringOf(ids, options.virtualNodes);
  const sides: Record<string, (key: string) => number> = {
    ring: (key) => ring.shardOf(key).length,
    mod_n: (key) => ids[ringHash(key) % n]!.length,
  };
  const nsPerOp: Record<string, number[]> = { ring: [], mod_n: [] };
  const timedKeys = keys.slice(0, Math.min(keys.length, 100_000));
  for (const lookup of Object.values(sides)) timeLookups(timedKeys, 200_000, lookup); // JIT warm-up
  for (let r = 0; r < options.rounds; r++) {
    const order = r % 2 === 0 ? Object.keys(sides) : Object.keys(sides).reverse();
    for (const side of order) nsPerOp[side]!.push(timeLookups(timedKeys, options.lookups, sides[side]!));
  }
  const ringNs = quantile(nsPerOp['ring']!, 0.5);
  const modNs = quantile(nsPerOp['mod_n']!, 0.5);
  figures['lookup_shards'] = n;
  figures['ring_lookup_ns_per_op'] = round(ringNs, 1);
  figures['mod_n_lookup_ns_per_op'] = round(modNs, 1);
  figures['ring_over_mod_n_lookup_ratio'] = round(ringNs / modNs, 2);
  const buildStartedAt = performance.now();
  ringOf(ids, options.virtualNodes);
  figures['ring_build_ms'] = round(performance.now() - buildStartedAt, 2);

  bar.next('keys moved when a shard joins');
  const hashes = keys.map(ringHash);
  for (let before = 1; before <= 4; before++) {
    const from = ringOf(shardIds(before), options.virtualNodes);
    const to = ringOf(shardIds(before + 1), options.virtualNodes);
    const joined = shardIds(before + 1).at(-1)!;
    let moved = 0;
    let movedElsewhere = 0;
    let movedModN = 0;
    for (const hash of hashes) {
      const was = from.shardAt(hash);
      const is = to.shardAt(hash);
      if (was !== is) {
        moved += 1;
        if (is !== joined) movedElsewhere += 1;
      }
      if (hash % before !== hash % (before + 1)) movedModN += 1;
    }
    const ideal = 1 / (before + 1);
    const step = `n${before}_to_n${before + 1}`;
    figures[`moved_fraction_${step}`] = round(moved / keys.length, 4);
    figures[`moved_over_ideal_${step}`] = round(moved / keys.length / ideal, 3);
    figures[`moved_to_old_shards_${step}`] = movedElsewhere;
    figures[`mod_n_moved_fraction_${step}`] = round(movedModN / keys.length, 4);
  }

  bar.next('load spread');
  for (const shards of [2, 4, 8, 16]) {
    const counts = countByShard(ringOf(shardIds(shards), options.virtualNodes), hashes);
    figures[`spread_max_over_mean_n${shards}`] = round(maxOverMean([...counts.values()]), 3);
  }

  bar.next('virtual-node sweep');
  for (const virtualNodes of options.sweep) {
    const spreads: number[] = [];
    for (let set = 0; set < options.namingSets; set++) {
      for (let shards = 2; shards <= 16; shards++) {
        const shares = ringOf(randomShardIds(shards, set), virtualNodes).shares();
        spreads.push(maxOverMean([...shares.values()]));
      }
    }
    figures[`sweep_v${virtualNodes}_median_max_over_mean`] = round(quantile(spreads, 0.5), 3);
    figures[`sweep_v${virtualNodes}_worst_max_over_mean`] = round(Math.max(...spreads), 3);
  }
  figures['load_average_1m_at_end'] = round(os.loadavg()[0]!, 2);
  bar.next('done');
  bar.stop();

  const file = writeResults('shards', figures);
  process.stderr.write(`${JSON.stringify(figures, null, 2)}\nwritten ${file}\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`bench/shards.ts: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
