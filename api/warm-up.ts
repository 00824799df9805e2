import type { Logger } from 'pino';
import type { Database } from '../platform/database';
import { sqlPoolOf } from '../platform/sql-pool';
import type { TemporalClient } from '../platform/temporal';

/**
 * Before the API listens: opens its PostgreSQL connections and its Temporal connection, which are
 * otherwise opened by the first requests. Measured with bench/platform.ts at 8 clients, the first
 * eight order submissions took 470–700 ms while they opened them all at once (later ones: 40–130).
 * Best effort and bounded: a database or Temporal that is not there yet is the health check's
 * business (/health/ready), not a reason to refuse to start.
 */
export async function warmUp(
  deps: { db: Database; temporal: TemporalClient; logger: Logger },
  options: { connections: number; timeoutMs: number },
): Promise<void> {
  const started = performance.now();
  const pool = sqlPoolOf(deps.db);
  // Every connection it got goes back to the pool, even after a failure or the timeout.
  const openConnections = async (): Promise<void> => {
    const settled = await Promise.allSettled(Array.from({ length: options.connections }, () => pool.connect()));
    const clients = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    try {
      await Promise.all(clients.map((client) => client.query('SELECT 1')));
    } finally {
      for (const client of clients) client.release();
    }
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  };
  const outcomes = await Promise.allSettled([
    withTimeout(openConnections(), options.timeoutMs),
    withTimeout(deps.temporal.connection.ensureConnected(), options.timeoutMs),
  ]);
  const failures = outcomes.flatMap((outcome, i) =>
    outcome.status === 'rejected' ? [`${i === 0 ? 'postgres' : 'temporal'}: ${String(outcome.reason)}`] : [],
  );
  const ms = Math.round(performance.now() - started);
  if (failures.length > 0) deps.logger.info({ ms, failures }, 'warm-up incomplete; first requests connect');
  else deps.logger.info({ ms, connections: options.connections }, 'warmed up');
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
