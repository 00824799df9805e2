import { customerPartitionKey } from '../../domain/sharding/partition-key';

/**
 * `count` partition keys of customers with random-looking UUIDs, the same on every run (a seeded
 * xorshift generator), so that ring measurements in tests and bench/shards.ts can be repeated.
 */
export function customerKeys(count: number, seed = 1): string[] {
  let state = (seed * 0x9e3779b9) >>> 0 || 1;
  const next = (): string => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state.toString(16).padStart(8, '0');
  };
  return Array.from({ length: count }, () => {
    const hex = next() + next() + next() + next();
    const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
    return customerPartitionKey(uuid);
  });
}

/** `count` shard ids as an operator might name them: `shard-1`, `shard-2`, … */
export function shardIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `shard-${i + 1}`);
}
