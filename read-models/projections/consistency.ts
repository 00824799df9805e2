import { isUuid } from '../../domain/ids';
import type { Database } from '../../platform/database';
import { sqlPoolOf } from '../../platform/sql-pool';
import type { EventPosition } from './projection';

/**
 * Read-your-writes by positions. A write answers with the position of its last event
 * (`Shopflow-Position: product:<id>:<version>`); a read that sends it back as
 * `Shopflow-Min-Position` waits, up to READ_YOUR_WRITES_WAIT_MS, until the projection it reads has
 * applied that aggregate up to that version (read_models.projection_positions, written in the
 * projection's own transaction, so "reached" means the read model already shows it). A route that
 * has another source falls back to it when the wait runs out; the others answer what they have
 * and say it is stale.
 *
 * Why positions and not "always read the source": the read side stays independent of the write
 * side for everyone else, and only a client that just wrote pays, and only for a few milliseconds.
 */

export class PositionSyntaxError extends Error {
  constructor(readonly value: string) {
    super(
      `"${value}" is not a position: expected <aggregateType>:<uuid>:<version>, as the Shopflow-Position header of a write`,
    );
    this.name = 'PositionSyntaxError';
  }
}

const MAX_POSITIONS = 20;

/** Parses a `Shopflow-Min-Position` header: positions separated by commas. Undefined header → []. */
export function parsePositions(header: string | string[] | undefined): EventPosition[] {
  if (header === undefined) return [];
  const values = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (values.length > MAX_POSITIONS)
    throw new PositionSyntaxError(`${values.length} positions (at most ${MAX_POSITIONS})`);
  return values.map((value) => {
    const match = /^([a-z][a-z_]{0,49}):([0-9a-fA-F-]{36}):([1-9][0-9]{0,8})$/.exec(value);
    if (!match || !isUuid(match[2]!)) throw new PositionSyntaxError(value);
    return { aggregateType: match[1]!, aggregateId: match[2]!.toLowerCase(), version: Number(match[3]) };
  });
}

/** Whether the projection has applied every position. */
export async function positionsReached(
  db: Database,
  projection: string,
  positions: readonly EventPosition[],
): Promise<boolean> {
  if (positions.length === 0) return true;
  const { rows } = await sqlPoolOf(db).query<{ aggregate_id: string; version: number }>({
    name: 'projection-positions-reached',
    text: `SELECT aggregate_id::text, version FROM read_models.projection_positions
           WHERE projection = $1 AND aggregate_id = ANY($2::uuid[])`,
    values: [projection, positions.map((p) => p.aggregateId)],
  });
  const applied = new Map(rows.map((r) => [r.aggregate_id, r.version]));
  return positions.every((p) => (applied.get(p.aggregateId) ?? 0) >= p.version);
}

/**
 * Waits until the projection reached every position, polling with a growing delay (5 ms, 10 ms …
 * 100 ms). Returns false when `timeoutMs` ran out first. The API waits with a PositionWatcher
 * (position-watcher.ts), which listens instead; this is for callers without one.
 */
export async function waitForPositions(
  db: Database,
  projection: string,
  positions: readonly EventPosition[],
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    if (await positionsReached(db, projection, positions)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
    delay = Math.min(delay * 2, 100);
  }
}
