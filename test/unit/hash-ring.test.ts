import { hash } from 'node:crypto';
import { DEFAULT_VIRTUAL_NODES, HashRing } from '../../domain/sharding/hash-ring';
import { customerIdFromPartitionKey, customerPartitionKey } from '../../domain/sharding/partition-key';
import { ringHash } from '../../platform/shards/ring-hash';
import { customerKeys, shardIds } from '../support/customer-keys';

/**
 * Where a customer's order data lives is decided by the consistent-hash ring: these are the
 * properties the design relies on (docs/sharding.md), checked on the keys we route.
 */

/** A ring placed by shopflow's hash, as the router builds it. */
const ringOf = (ids: readonly string[], virtualNodes?: number): HashRing =>
  new HashRing(ids, { hash: ringHash, virtualNodes });

/** Keys per shard, from keys hashed once (hashing is most of a lookup's cost). */
function countByShard(ring: HashRing, hashes: readonly number[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const position of hashes) {
    const shard = ring.shardAt(position);
    counts.set(shard, (counts.get(shard) ?? 0) + 1);
  }
  return counts;
}

describe('the ring hash (Ketama MD5)', () => {
  // libketama's key hash: the first four bytes of the MD5 digest, little-endian. The digests are
  // RFC 1321's test suite, so any language's MD5 places keys where we do.
  it.each([
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
  ])('places %j by the start of its digest %s', (text, digest) => {
    expect(ringHash(text)).toBe(Buffer.from(digest, 'hex').readUInt32LE(0));
  });

  it("hashes a key's UTF-8 bytes", () => {
    expect(ringHash('π')).toBe(hash('md5', Uint8Array.of(0xcf, 0x80), 'buffer').readUInt32LE(0));
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
  const hashes = keys.map(ringHash);

  it('places every key the same way whatever order the shards are listed in', () => {
    const ring = ringOf(['eu-2', 'eu-1', 'us-1']);
    const same = ringOf(['us-1', 'eu-1', 'eu-2']);
    expect(keys.slice(0, 5_000).every((key) => ring.shardOf(key) === same.shardOf(key))).toBe(true);
    expect(ring.shardOf(keys[0]!)).toBe(ring.shardAt(ringHash(keys[0]!)));
  });

  it('gives each position the first virtual node at or after it, going round', () => {
    // The ring's answer against the definition, point by point, on rings small and large.
    for (const [shards, virtualNodes] of [
      [3, 7],
      [4, DEFAULT_VIRTUAL_NODES],
    ] as const) {
      const ring = ringOf(shardIds(shards), virtualNodes);
      const points = shardIds(shards)
        .flatMap((id) => Array.from({ length: virtualNodes }, (_, i) => ({ at: ringHash(`${id}#${i}`), id })))
        .sort((a, b) => a.at - b.at);
      const expected = (hash: number): string => (points.find((p) => p.at >= hash) ?? points[0]!).id;
      const probes = [0, 2 ** 32 - 1, ...points.slice(0, 50).flatMap((p) => [p.at - 1, p.at, p.at + 1])];
      probes.push(...hashes.slice(0, 2_000));
      for (const hash of probes.filter((h) => h >= 0 && h < 2 ** 32)) {
        expect({ hash, shard: ring.shardAt(hash) }).toEqual({ hash, shard: expected(hash) });
      }
    }
  });

  it('sends every key to the only shard of a ring of one', () => {
    const ring = ringOf(['only']);
    expect(new Set(keys.slice(0, 1_000).map((key) => ring.shardOf(key)))).toEqual(new Set(['only']));
    expect(ring.shares()).toEqual(new Map([['only', 1]]));
  });

  it.each([1, 2, 3, 4])('moves close to 1/(N+1) of the keys when a shard joins N = %d, all to the new shard', (n) => {
    const before = ringOf(shardIds(n));
    const after = ringOf(shardIds(n + 1));
    const joined = shardIds(n + 1).at(-1)!;
    const moved = hashes.filter((position) => before.shardAt(position) !== after.shardAt(position));

    expect(new Set(moved.map((position) => after.shardAt(position)))).toEqual(new Set([joined]));
    const ideal = 1 / (n + 1);
    expect(moved.length / keys.length / ideal).toBeGreaterThan(0.9);
    expect(moved.length / keys.length / ideal).toBeLessThan(1.1);
  });

  let million: number[] | undefined;
  it.each([2, 4, 8])('holds at most 10%% above the mean on the most loaded of %d shards at 10^6 keys', (n) => {
    million ??= customerKeys(1_000_000).map(ringHash);
    const counts = [...countByShard(ringOf(shardIds(n)), million).values()];
    expect(Math.max(...counts) / (million.length / n)).toBeLessThanOrEqual(1.1);
  });

  it('expects each shard to hold the share of the ring it owns', () => {
    const ring = ringOf(shardIds(4));
    const shares = ring.shares();
    expect([...shares.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    for (const [shard, count] of countByShard(ring, hashes)) {
      expect(Math.abs(count / keys.length - shares.get(shard)!)).toBeLessThan(0.01);
    }
  });

  it('uses the measured number of virtual nodes unless told otherwise', () => {
    expect(ringOf(['a']).virtualNodes).toBe(DEFAULT_VIRTUAL_NODES);
    expect(ringOf(['a'], 10).virtualNodes).toBe(10);
  });

  it('refuses a ring without shards, without points, or with a hash that is not 32-bit unsigned', () => {
    expect(() => ringOf([])).toThrow('at least one shard');
    expect(() => ringOf(['a'], 0)).toThrow('virtual nodes');
    expect(() => new HashRing(['a'], { hash: () => -1 })).toThrow('unsigned 32-bit');
    expect(() => new HashRing(['a'], { hash: () => 2 ** 32 })).toThrow('unsigned 32-bit');
  });
});
