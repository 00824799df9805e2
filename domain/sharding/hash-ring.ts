/**
 * A consistent-hash ring with virtual nodes: which shard holds a partition key.
 *
 * Each shard owns `virtualNodes` points on a 32-bit circle (the hash of `{shardId}#{i}`), and a key
 * belongs to the first point at or after its own hash, going round. Adding a shard only inserts
 * points, so the only keys that move are those that fall just before a new point, and they all
 * move to the new shard: about 1/(N+1) of the keys when the N-th + 1 shard joins, where `hash mod
 * N` would move almost all of them. Many points per shard even out the arcs each one owns.
 *
 * The ring depends only on the set of shard ids and the hash, not on the ids' order, so every
 * process that reads the same shard map builds the same ring. The hash is given, not chosen here:
 * domain/ imports nothing outside itself, and the hash is the platform's to choose and keep
 * (platform/shards/ring-hash.ts), since positions are stored in the shard map and must never change.
 */

/**
 * A key's position on the ring: an unsigned 32-bit integer, evenly spread over 0..2^32 - 1 for
 * similar keys, and the same in every process and release.
 */
export type RingHash = (key: string) => number;

export interface HashRingOptions {
  hash: RingHash;
  /** Points per shard; DEFAULT_VIRTUAL_NODES unless told otherwise. */
  virtualNodes?: number;
}

/**
 * Points per shard, chosen from a measurement with shopflow's hash (bench/shards.ts, its `sweep_*`
 * figures in bench/results/shards.json): the exact share of the ring each shard owns, over 40 sets
 * of random shard ids and N = 2..16 shards (600 rings per count). The most loaded shard's share
 * over the mean, median / worst of the 600: 250 points 1.089 / 1.218; 500 points 1.058 / 1.134;
 * 1000 points 1.044 / 1.098; 1500 points 1.035 / 1.088; 2000 points 1.031 / 1.072. The design's
 * bound is 10% above the mean. 1000 meets it with 0.2% to spare, which real keys' own scatter
 * (about 0.4% per shard at 10^6 keys on 16 shards) can use up; 1500 is the smallest count measured
 * with a margin (with fewer, it is left to luck how shards are named). The price is small: a ring
 * of 16 shards is 24,000 points (about 210 KB with its index), built in about 50 ms when the
 * shard map changes, and thanks to the index a lookup still looks at one or two points. See
 * docs/sharding.md.
 */
export const DEFAULT_VIRTUAL_NODES = 1500;

export class HashRing {
  readonly shardIds: readonly string[];
  readonly virtualNodes: number;
  readonly hash: RingHash;
  /** Point positions in ascending order, and beside each the index (in shardIds) of its shard. */
  private readonly points: Uint32Array;
  private readonly owners: Uint16Array;
  /**
   * An index over the points by the top `bucketBits` bits of a position: `starts[b]` is the first
   * point in bucket b or after it. About one point per bucket, so a lookup searches one or two
   * points instead of the whole ring (measured: the ring's extra cost over `hash mod N` drops
   * from about 130 ns to a few ns per lookup, see bench/shards.ts).
   */
  private readonly bucketShift: number;
  private readonly starts: Uint32Array;

  constructor(shardIds: Iterable<string>, { hash, virtualNodes = DEFAULT_VIRTUAL_NODES }: HashRingOptions) {
    const ids = [...new Set(shardIds)].sort();
    if (ids.length === 0) throw new RangeError('a hash ring needs at least one shard');
    if (ids.length > 0xffff) throw new RangeError('a hash ring holds at most 65535 shards');
    if (!Number.isInteger(virtualNodes) || virtualNodes < 1)
      throw new RangeError('virtual nodes per shard must be a whole number ≥ 1');
    this.shardIds = ids;
    this.virtualNodes = virtualNodes;
    this.hash = hash;

    // Each point packed as position × 2^16 + shard index (exact below 2^53), so one numeric sort
    // of a typed array orders them, and two points on one position (rare with 32 bits) go to the
    // smaller shard id first whatever the input order.
    const packed = new Float64Array(ids.length * virtualNodes);
    ids.forEach((id, owner) => {
      for (let i = 0; i < virtualNodes; i++) {
        const position = hash(`${id}#${i}`);
        if (position >>> 0 !== position)
          throw new RangeError(`the ring hash gave ${position}, not an unsigned 32-bit integer`);
        packed[owner * virtualNodes + i] = position * 0x10000 + owner;
      }
    });
    packed.sort();
    this.points = Uint32Array.from(packed, (p) => Math.floor(p / 0x10000));
    this.owners = Uint16Array.from(packed, (p) => p % 0x10000);

    const bucketBits = Math.min(16, Math.max(1, Math.floor(Math.log2(this.points.length))));
    this.bucketShift = 32 - bucketBits;
    this.starts = new Uint32Array((1 << bucketBits) + 1);
    let point = 0;
    for (let bucket = 0; bucket <= 1 << bucketBits; bucket++) {
      while (point < this.points.length && this.points[point]! >>> this.bucketShift < bucket) point++;
      this.starts[bucket] = point;
    }
  }

  /** The shard that holds `partitionKey`. */
  shardOf(partitionKey: string): string {
    return this.shardAt(this.hash(partitionKey));
  }

  /** The shard that holds a key whose ring hash is `hash`. */
  shardAt(hash: number): string {
    const { points } = this;
    const bucket = hash >>> this.bucketShift;
    let low = this.starts[bucket]!;
    // Every point of a later bucket lies after `hash`: the answer is at most the next bucket's first.
    let high = this.starts[bucket + 1]!;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (points[middle]! < hash) low = middle + 1;
      else high = middle;
    }
    return this.shardIds[this.owners[low === points.length ? 0 : low]!]!;
  }

  /**
   * The share of all keys (0..1) each shard is expected to hold: the length of the arcs it owns.
   * Exact for uniformly hashed keys, so spread can be judged without generating any.
   */
  shares(): Map<string, number> {
    const { points, owners } = this;
    const owned = new Array<number>(this.shardIds.length).fill(0);
    for (let i = 0; i < points.length; i++) {
      // The arc that ends at point i starts after the point before it (the last one, for the first).
      const start = i === 0 ? points[points.length - 1]! - RING_SIZE : points[i - 1]!;
      owned[owners[i]!]! += points[i]! - start;
    }
    return new Map(this.shardIds.map((id, index) => [id, owned[index]! / RING_SIZE]));
  }
}

const RING_SIZE = 2 ** 32;
