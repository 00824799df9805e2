import { hash } from 'node:crypto';

/**
 * Where a partition key (or a shard's virtual node) sits on the consistent-hash ring: the first
 * four bytes of the MD5 digest of its UTF-8 bytes, read little-endian, as libketama hashes a key.
 *
 * Why this hash: a position is stored (`shard_mappings.hash_value`) and must be the same in every
 * process, language and release, forever; and similar keys (`customer:{uuid}`) must spread evenly
 * over 32 bits. Ketama's MD5 is the hash consistent-hash rings have used for that since libketama
 * (memcached clients, twemproxy), every language has it in its standard library, and here it comes
 * from node:crypto (OpenSSL), maintained with Node itself, with no package to vet and no code of
 * ours. A faster non-cryptographic hash from npm (MurmurHash3, xxHash) would save about a
 * microsecond per lookup, which is nothing beside the query the route is for, at the price of a
 * dependency whose output we would be bound to for good. MD5's weakness to collisions does not
 * matter: nobody gains by choosing a key's shard.
 *
 * libketama also takes four points from one digest of `{server}-{i}`; the ring here asks one
 * position per `{shardId}#{i}` instead, which costs more hashing only when the shard map changes.
 */
export function ringHash(key: string): number {
  return hash('md5', key, 'buffer').readUInt32LE(0);
}
