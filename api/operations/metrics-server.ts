import type { AppDeps } from '../deps';
import { createHealthMonitor } from '../../platform/health';
import type { ApiMetrics } from '../../platform/metrics';
import { startMetricsServer, type MetricsServer } from '../../platform/metrics-server';
import { apiHealthChecks } from './health-routes';

/**
 * The API's `/metrics`, on a port of its own (API_METRICS_PORT), as the worker's and the projector's
 * are: the public API port serves no metrics, so nothing about the platform's internals (request
 * rates per route, cache hit rates, dependency health) is readable by whoever can reach the API,
 * and Prometheus scrapes a port that a deployment keeps inside its network. Each scrape first runs
 * the readiness checks, so the dependency gauges are as fresh as the scrape.
 */
export function startApiMetricsServer(
  deps: AppDeps & { metrics: ApiMetrics },
  listen: { host: string; port: number },
): Promise<MetricsServer> {
  const { metrics } = deps;
  const health = createHealthMonitor(apiHealthChecks(deps), {
    ...deps.config.health,
    onReport: (report) => metrics.recordHealth(report),
  });
  return startMetricsServer({
    registry: metrics.registry,
    ...listen,
    logger: deps.logger,
    beforeScrape: () => health.check(),
  });
}
