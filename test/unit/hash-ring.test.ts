import { DEFAULT_VIRTUAL_NODES, HashRing, ringHash } from '../../domain/sharding/hash-ring';
import { murmur3 } from '../../domain/sharding/murmur3';
import { customerIdFromPartitionKey, customerPartitionKey } from '../../domain/sharding/partition-key';
import { customerKeys, shardIds } from '../support/customer-keys';

/**
 * Where a customer's order data lives is decided by the consistent-hash ring: these are the
 * properties the design relies on (docs/sharding.md), checked on the keys we route.
 */

function countByShard(ring: HashRing, keys: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) {
    const shard = ring.shardOf(key);
    counts.set(shard, (counts.get(shard) ?? 0) + 1);
  }
  return counts;
}

describe('MurmurHash3 (x86, 32-bit)', () => {
  // The reference implementation's published vectors: another language hashing UTF-8 agrees with us.
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['abc', 0, 0xb3dd93fa],
    ['hello', 0, 0x248bfa47],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ['ππππππππ', 0x9747b28c, 0xd58063c1],
  ])('hashes %j with seed %d to the reference value', (text, seed, expected) => {
    expect(murmur3(text, seed)).toBe(expected);
  });

  it('hashes a key longer than any before it', () => {
    const long = 'x'.repeat(10_000);
    expect(murmur3(long)).toBe(murmur3(long));
    expect(murmur3(`${long}y`)).not.toBe(murmur3(long));
  });
});

describe('partition keys', () => {
  it('partitions order data by customer', () => {
    const key = customerPartitionKey('3f2b8c1e-0d4a-4c51-9e0b-7a1d2c3b4e5f');
    expect(key).toBe('customer:3f2b8c1e-0d4a-4c51-9e0b-7a1d2c3b4e5f');
    expect(customerIdFromPartitionKey(key)).toBe('3f2b8c1e-0d4a-4c51-9e0b-7a1d2c3b4e5f');
    expect(customerIdFromPartitionKey('seller:1')).toBeUndefined();
    expect(() => customerPartitionKey('')).toThrow(RangeError);
  });
});

describe('the consistent-hash ring', () => {
  const keys = customerKeys(200_000);

  it('places every key the same way whatever order the shards are listed in', () => {
    const ring = new HashRing(['eu-2', 'eu-1', 'us-1']);
    const same = new HashRing(['us-1', 'eu-1', 'eu-2']);
    expect(keys.slice(0, 5_000).every((key) => ring.shardOf(key) === same.shardOf(key))).toBe(true);
    expect(ring.shardOf(keys[0]!)).toBe(ring.shardAt(ringHash(keys[0]!)));
  });

  it('gives each position the first virtual node at or after it, going round', () => {
    // The ring's answer against the definition, point by point, on rings small and large.
    for (const [shards, virtualNodes] of [
      [3, 7],
      [4, DEFAULT_VIRTUAL_NODES],
    ] as const) {
      const ring = new HashRing(shardIds(shards), virtualNodes);
      const points = shardIds(shards)
        .flatMap((id) => Array.from({ length: virtualNodes }, (_, i) => ({ at: ringHash(`${id}#${i}`), id })))
        .sort((a, b) => a.at - b.at);
      const expected = (hash: number): string => (points.find((p) => p.at >= hash) ?? points[0]!).id;
      const probes = [0, 2 ** 32 - 1, ...points.slice(0, 50).flatMap((p) => [p.at - 1, p.at, p.at + 1])];
      probes.push(...keys.slice(0, 2_000).map(ringHash));
      for (const hash of probes.filter((h) => h >= 0 && h < 2 ** 32)) {
        expect({ hash, shard: ring.shardAt(hash) }).toEqual({ hash, shard: expected(hash) });
      }
    }
  });

  it('sends every key to the only shard of a ring of one', () => {
    const ring = new HashRing(['only']);
    expect(new Set(keys.slice(0, 1_000).map((key) => ring.shardOf(key)))).toEqual(new Set(['only']));
    expect(ring.shares()).toEqual(new Map([['only', 1]]));
  });

  it.each([1, 2, 3, 4])('moves close to 1/(N+1) of the keys when a shard joins N = %d, all to the new shard', (n) => {
    const before = new HashRing(shardIds(n));
    const after = new HashRing(shardIds(n + 1));
    const joined = shardIds(n + 1).at(-1)!;
    const moved = keys.filter((key) => before.shardOf(key) !== after.shardOf(key));

    expect(new Set(moved.map((key) => after.shardOf(key)))).toEqual(new Set([joined]));
    const ideal = 1 / (n + 1);
    expect(moved.length / keys.length / ideal).toBeGreaterThan(0.9);
    expect(moved.length / keys.length / ideal).toBeLessThan(1.1);
  });

  let million: string[] | undefined;
  it.each([2, 4, 8])('holds at most 10%% above the mean on the most loaded of %d shards at 10^6 keys', (n) => {
    million ??= customerKeys(1_000_000);
    const counts = [...countByShard(new HashRing(shardIds(n)), million).values()];
    expect(Math.max(...counts) / (million.length / n)).toBeLessThanOrEqual(1.1);
  });

  it('expects each shard to hold the share of the ring it owns', () => {
    const ring = new HashRing(shardIds(4));
    const shares = ring.shares();
    expect([...shares.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    for (const [shard, count] of countByShard(ring, keys)) {
      expect(Math.abs(count / keys.length - shares.get(shard)!)).toBeLessThan(0.01);
    }
  });

  it('uses the measured number of virtual nodes unless told otherwise', () => {
    expect(new HashRing(['a']).virtualNodes).toBe(DEFAULT_VIRTUAL_NODES);
    expect(new HashRing(['a'], 10).virtualNodes).toBe(10);
  });

  it('refuses a ring without shards or without points', () => {
    expect(() => new HashRing([])).toThrow('at least one shard');
    expect(() => new HashRing(['a'], 0)).toThrow('virtual nodes');
  });
});
