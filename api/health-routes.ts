import { Router } from 'express';
import type { HealthCheck, HealthMonitor } from '../lib/health';
import type { AppDeps } from './deps';

/** The API's dependencies, each checked for real: PostgreSQL, Redis and the Temporal frontend. */
export function apiHealthChecks({ db, redis, temporal }: AppDeps): Record<string, HealthCheck> {
  return {
    postgres: () => db.$queryRaw`SELECT 1`,
    redis: () => redis.ping(),
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
