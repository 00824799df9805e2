import type { Request } from 'express';
import { parsePositions, PositionSyntaxError, waitForPositions } from '../lib/projections/consistency';
import { MIN_POSITION_HEADER, type Projection } from '../lib/projections/projection';
import type { AppDeps } from './deps';
import { HttpProblem, problemTypes } from './problem';

/** Tells the client how fresh a read is: `reached` (its positions were applied), `fallback`, `stale`. */
export const CONSISTENCY_HEADER = 'Shopflow-Consistency';

export type ReadConsistency = 'none' | 'reached' | 'timeout';

/**
 * For a read of `projection`'s tables: waits for the positions the client sent in
 * `Shopflow-Min-Position` (lib/projections/consistency.ts). `none` when it sent none.
 */
export async function awaitMinPositions(
  req: Request,
  { db, config }: Pick<AppDeps, 'db' | 'config'>,
  projection: Pick<Projection, 'name' | 'aggregateTypes'>,
): Promise<ReadConsistency> {
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
  const reached = await waitForPositions(db, projection.name, positions, config.projections.readYourWritesWaitMs);
  return reached ? 'reached' : 'timeout';
}

function badPosition(field: string, message: string): HttpProblem {
  return new HttpProblem(400, problemTypes.validation, 'Request validation failed', `${field} is invalid`, [
    { field, message },
  ]);
}
