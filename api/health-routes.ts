import { Router } from 'express';
import { checkHealth, type HealthCheck } from '../lib/health';
import type { AppDeps } from './deps';

/** Liveness says the process serves requests; readiness checks each dependency. */
export function healthRoutes({ config, db, redis, temporal }: AppDeps): Router {
  const router = Router();
  const checks: Record<string, HealthCheck> = {
    postgres: () => db.$queryRaw`SELECT 1`,
    redis: () => redis.ping(),
    temporal: (signal) =>
      temporal.healthConnection.withAbortSignal(signal, () =>
        temporal.healthConnection.workflowService.getSystemInfo({}),
      ),
  };

  router.get('/health/live', (_req, res) => {
    res.json({ status: 'UP', uptimeSeconds: Math.round(process.uptime()) });
  });

  router.get('/health/ready', async (_req, res) => {
    const report = await checkHealth(checks, config.health);
    res.status(report.status === 'DOWN' ? 503 : 200).json(report);
  });

  return router;
}
