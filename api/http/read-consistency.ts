import type { Request, Response } from 'express';
import { entryOf, type CacheEntry, type ReadCache } from '../../read-models/cache';
import type { CacheKind } from '../../platform/config';
import { parsePositions, PositionSyntaxError, waitForPositions } from '../../read-models/projections/consistency';
import { MIN_POSITION_HEADER, type EventPosition, type Projection } from '../../read-models/projections/projection';
import { ORDER_AGGREGATE } from '../../domain/order-events';
import { actsForOrderCustomer } from '../orders/order-access';
import type { AppDeps } from '../deps';
import { HttpProblem, problemTypes } from './problem';
import { PREFER_HEADER, PREFERENCE_APPLIED_HEADER, preferredWaitMs } from './prefer';

/** Tells the client how fresh a read is: `reached` (its positions were applied), `fallback`, `stale`. */
export const CONSISTENCY_HEADER = 'Shopflow-Consistency';

export type ReadConsistency = 'none' | 'reached' | 'timeout';

/**
 * For a read of `projection`'s tables: waits for the positions the client sent in
 * `Shopflow-Min-Position` (read-models/projections/consistency.ts). `none` when it sent none.
 * It waits READ_YOUR_WRITES_WAIT_MS, or what the client asked with `Prefer: wait=<seconds>` up to
 * READ_YOUR_WRITES_MAX_WAIT_MS (answered with `Preference-Applied`, api/http/prefer.ts).
 */
export async function awaitMinPositions(
  req: Request,
  deps: Pick<AppDeps, 'db' | 'config'> & Partial<Pick<AppDeps, 'temporal' | 'positionWatcher'>>,
  projection: Pick<Projection, 'name' | 'aggregateTypes'>,
): Promise<ReadConsistency> {
  const { db, config } = deps;
  const field = `header.${MIN_POSITION_HEADER}`;
  let positions;
  try {
    positions = parsePositions(req.headers[MIN_POSITION_HEADER.toLowerCase()]);
  } catch (error) {
    if (!(error instanceof PositionSyntaxError)) throw error;
    throw badPosition(field, error.message);
  }
  if (positions.length === 0) return 'none';
  const foreign = positions.find((p) => !projection.aggregateTypes.includes(p.aggregateType));
  if (foreign) {
    throw badPosition(
      field,
      `this read is served by ${projection.name}, which does not follow ${foreign.aggregateType} events (it follows ${projection.aggregateTypes.join(', ')})`,
    );
  }
  await ensureOwnOrders(req, deps, positions, field);
  const waitMs = waitAllowed(req, config.projections);
  const reached = deps.positionWatcher
    ? await deps.positionWatcher.waitFor(projection.name, positions, waitMs)
    : await waitForPositions(db, projection.name, positions, waitMs);
  return reached ? 'reached' : 'timeout';
}

/** How long this read may wait: the client's `Prefer: wait`, within the configured maximum, or the default. */
function waitAllowed(
  req: Request,
  { readYourWritesWaitMs, readYourWritesMaxWaitMs }: AppDeps['config']['projections'],
): number {
  const preferred = preferredWaitMs(req.headers[PREFER_HEADER.toLowerCase()]);
  if (preferred === undefined) return readYourWritesWaitMs;
  const waitMs = Math.min(preferred, readYourWritesMaxWaitMs);
  // Whole seconds, as asked: a maximum configured in milliseconds is rounded down.
  req.res?.setHeader(PREFERENCE_APPLIED_HEADER, `wait=${Math.floor(waitMs / 1000)}`);
  return waitMs;
}

/**
 * Whether a position was reached says whether its order exists and how far it got: a caller other
 * than an operator may wait only on orders it placed. One answer for another's order and for none.
 */
async function ensureOwnOrders(
  req: Request,
  deps: Parameters<typeof actsForOrderCustomer>[0],
  positions: EventPosition[],
  field: string,
): Promise<void> {
  const principal = req.principal;
  if (!principal || principal.role === 'operator') return;
  for (const { aggregateType, aggregateId } of positions) {
    if (aggregateType === ORDER_AGGREGATE && !(await actsForOrderCustomer(deps, principal, aggregateId))) {
      throw badPosition(field, `names order ${aggregateId}, which this key cannot read`);
    }
  }
}

function badPosition(field: string, message: string): HttpProblem {
  return new HttpProblem(400, problemTypes.validation, 'Request validation failed', `${field} is invalid`, [
    { field, message },
  ]);
}

/** For reads with no other source to fall back to: `reached`, or `stale` once the wait ran out. */
export function markFreshness(res: Response, consistency: ReadConsistency): void {
  if (consistency !== 'none') res.setHeader(CONSISTENCY_HEADER, consistency === 'reached' ? 'reached' : 'stale');
}

/**
 * A read through the cache; straight from the read model after a timed-out wait, when the cache
 * may still hold an entry from before the client's write. Undefined when `load` found nothing.
 */
export async function readEntry(
  cache: ReadCache | undefined,
  consistency: ReadConsistency,
  read: { kind: CacheKind; key: string; tags: string[]; load: () => Promise<unknown> },
): Promise<CacheEntry | undefined> {
  if (cache && consistency !== 'timeout') return cache.get(read.kind, read.key, read.tags, read.load);
  const value = await read.load();
  return value === undefined ? undefined : entryOf(value);
}
