/** Errors of PostgreSQL writes, as Prisma and pg report them (no client loaded: safe to import anywhere). */

/**
 * Whether a write failed on a unique constraint: Prisma's P2002, the raw 23505 Prisma wraps in
 * P2010 inside a raw query, or pg's own 23505 on the SQL pool.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (code === 'P2002' || code === '23505') return true;
  return code === 'P2010' && /23505|unique constraint/i.test(String((error as { message?: unknown }).message));
}
