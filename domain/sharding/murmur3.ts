/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's public-domain reference, `MurmurHash3_x86_32`).
 *
 * Why this hash: shard placement needs a hash that spreads similar keys (`customer:…` with ids
 * that differ in a few characters) evenly over 32 bits, is cheap, and gives the same value in
 * every process, language and release, because positions on the ring and the `hash_value` column
 * of the shard map must agree forever. MurmurHash3 has a published reference and test vectors, good
 * avalanche, and in JavaScript it runs on 32-bit integer arithmetic (Math.imul) with no BigInt.
 * It is written here, not taken from npm: domain/ is pure and imports nothing outside itself (the
 * layer rules), and the function is short enough to check against the reference vectors
 * (test/unit/hash-ring.test.ts). It is not cryptographic: nobody gains by choosing a key's shard.
 */

const C1 = 0xcc9e2d51;
// Held once: inside a vm context (jest runs tests in one) a call through the global `Math` was
// measured a hundred times slower than through a local (Node 24), and the hash is all such calls.
const imul = Math.imul;
const C2 = 0x1b873593;

/** The hash of `bytes` (the first `length` of them), an unsigned 32-bit integer. */
export function murmur3Bytes(bytes: Uint8Array, length = bytes.length, seed = 0): number {
  let h = seed >>> 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = bytes[blocks]!;
    if (tail > 1) k |= bytes[blocks + 1]! << 8;
    if (tail > 2) k |= bytes[blocks + 2]! << 16;
    k = imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = imul(k, C2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Reused between calls: hashing runs on every routed request, and a fresh array per key would be
// most of its cost. Grown when a longer key comes (UTF-8 needs at most 3 bytes per UTF-16 unit).
let scratch = new Uint8Array(256);

/** The hash of a string's UTF-8 bytes, so that any implementation that hashes UTF-8 agrees. */
export function murmur3(text: string, seed = 0): number {
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3);
  return murmur3Bytes(scratch, encodeUtf8(text, scratch), seed);
}

/**
 * Writes `text` as UTF-8 into `out` and returns the byte count; a lone surrogate becomes U+FFFD,
 * as TextEncoder does. By hand because TextEncoder's encodeInto is several times slower on the
 * short ASCII keys we route, and far slower where the array comes from another realm (jest).
 */
function encodeUtf8(text: string, out: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const low = text.charCodeAt(i + 1);
      if (c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
        out[n++] = 0xf0 | (c >> 18);
        out[n++] = 0x80 | ((c >> 12) & 0x3f);
        out[n++] = 0x80 | ((c >> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
        continue;
      }
      c = 0xfffd;
    }
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return n;
}
