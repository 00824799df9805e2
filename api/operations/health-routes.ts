import { Router } from 'express';
import { degraded, up, type HealthChecks, type HealthMonitor } from '../../platform/health';
import { projections } from '../../read-models/projections';
import { measureLags } from '../../read-models/projections/lag';
import type { AppDeps } from '../deps';

/**
 * The API's dependencies, each checked for real: PostgreSQL, Redis and the Temporal frontend.
 * Redis only holds the read cache, and reads fall back to PostgreSQL without it: its outage makes
 * the API DEGRADED (still ready), not DOWN.
 */
export function apiHealthChecks({ db, redis, temporal, config, metrics }: AppDeps): HealthChecks {
  return {
    // The read models the API serves: DEGRADED when one is further behind than the configured
    // limits (reads still work, but show older data), with the lag of each in the detail.
    projections: async () => {
      let lags;
      try {
        lags = await measureLags(db, redis, projections);
      } catch (error) {
        return degraded(`projection lag unknown: ${error instanceof Error ? error.message : String(error)}`);
      }
      for (const lag of lags) {
        metrics?.projectionLagEvents.set({ projection: lag.projection }, lag.events);
        metrics?.projectionLagSeconds.set({ projection: lag.projection }, lag.seconds);
      }
      const { lagDegradedEvents, lagDegradedMs } = config.projections;
      const behind = lags.filter((l) => l.events > lagDegradedEvents || l.seconds * 1000 > lagDegradedMs);
      const describe = (l: (typeof lags)[number]) =>
        `${l.projection} ${l.events} events, ${l.seconds.toFixed(1)} s behind`;
      const detail = lags.map(describe).join('; ');
      return behind.length > 0 ? degraded(detail) : up(detail);
    },
    postgres: () => db.$queryRaw`SELECT 1`,
    redis: { check: () => redis.ping(), optional: true },
    temporal: (signal) =>
      temporal.healthConnection.withAbortSignal(signal, () =>
        temporal.healthConnection.workflowService.getSystemInfo({}),
      ),
  };
}

/** Liveness says the process serves requests; readiness checks each dependency. */
export function healthRoutes(health: HealthMonitor): Router {
  const router = Router();

  router.get('/health/live', (_req, res) => {
    res.json({ status: 'UP', uptimeSeconds: Math.round(process.uptime()) });
  });

  router.get('/health/ready', async (_req, res) => {
    const report = await health.check();
    res.status(report.status === 'DOWN' ? 503 : 200).json(report);
  });

  return router;
}
