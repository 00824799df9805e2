import type { Database } from '../platform/database';
import type { RedisClient } from '../platform/redis';

/**
 * The platform probe's steps: each touches one dependency from inside the worker, so a
 * completed probe proves API -> Temporal -> worker -> PostgreSQL and Redis work together.
 */

export interface ProbeActivityDeps {
  db: Database;
  redis: RedisClient;
}

export interface RecordProbeRequestedInput {
  probeId: string;
  workflowId: string;
  requestedBy: string;
  note: string;
}
export interface RecordProbeRequestedResult {
  postgresMs: number;
}

export interface CheckRedisInput {
  probeId: string;
}
export interface CheckRedisResult {
  redisMs: number;
}

export interface RecordProbeCompletedInput {
  probeId: string;
  postgresMs: number;
  redisMs: number;
}
export interface RecordProbeCompletedResult {
  completedAt: string;
}

function elapsedMs(startedAt: bigint): number {
  return Number((process.hrtime.bigint() - startedAt) / 1_000_000n);
}

export function createProbeActivities({ db, redis }: ProbeActivityDeps) {
  return {
    /** Idempotent: a retry after the insert committed finds the row and changes nothing. */
    async recordProbeRequested(input: RecordProbeRequestedInput): Promise<RecordProbeRequestedResult> {
      const startedAt = process.hrtime.bigint();
      await db.probeRun.upsert({
        where: { id: input.probeId },
        create: { id: input.probeId, workflowId: input.workflowId, requestedBy: input.requestedBy, note: input.note },
        update: {},
      });
      return { postgresMs: elapsedMs(startedAt) };
    },

    async checkRedisRoundTrip(input: CheckRedisInput): Promise<CheckRedisResult> {
      const startedAt = process.hrtime.bigint();
      const key = `shopflow:probe:${input.probeId}`;
      await redis.set(key, input.probeId, 'EX', 60);
      const echoed = await redis.get(key);
      if (echoed !== input.probeId) throw new Error(`redis returned ${String(echoed)} for ${key}`);
      return { redisMs: elapsedMs(startedAt) };
    },

    /** Idempotent: the first completion time wins, a retry returns it again. */
    async recordProbeCompleted(input: RecordProbeCompletedInput): Promise<RecordProbeCompletedResult> {
      await db.probeRun.updateMany({
        where: { id: input.probeId, completedAt: null },
        data: { completedAt: new Date(), postgresMs: input.postgresMs, redisMs: input.redisMs },
      });
      const run = await db.probeRun.findUniqueOrThrow({ where: { id: input.probeId } });
      return { completedAt: (run.completedAt ?? new Date()).toISOString() };
    },
  };
}

export type ProbeActivities = ReturnType<typeof createProbeActivities>;
