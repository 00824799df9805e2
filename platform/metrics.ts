import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HealthReport } from './health';

/**
 * shopflow's Prometheus metrics. Each process (and each test) owns its Registry, passed down like
 * a database client: nothing registers on prom-client's global default registry.
 *
 * Names follow Prometheus conventions: `shopflow_` prefix, base units in the name (`_seconds`),
 * `_total` on counters. Labels take values from small fixed sets only (route patterns, step names,
 * failure types), never ids or raw URLs. The Grafana dashboard (ops/grafana/dashboards) queries
 * these names; a test checks that it asks for no metric missing here.
 */

export const metricNames = {
  httpRequestDuration: 'shopflow_http_request_duration_seconds',
  ordersSubmitted: 'shopflow_orders_submitted_total',
  idempotentReplays: 'shopflow_idempotent_replays_total',
  dependencyUp: 'shopflow_dependency_up',
  dependencyResponse: 'shopflow_dependency_response_seconds',
  dependencyLastFailure: 'shopflow_dependency_last_failure_timestamp_seconds',
  ordersCompleted: 'shopflow_orders_completed_total',
  sagaStepDuration: 'shopflow_saga_step_duration_seconds',
  sagaCompensations: 'shopflow_saga_compensations_total',
  activityFailures: 'shopflow_activity_failures_total',
  cacheRequests: 'shopflow_cache_requests_total',
  cacheLoads: 'shopflow_cache_loads_total',
  projectionLagEvents: 'shopflow_projection_lag_events',
  projectionLagSeconds: 'shopflow_projection_lag_seconds',
  projectionEventsApplied: 'shopflow_projection_events_applied_total',
  dashboardDrift: 'shopflow_dashboard_drift_total',
  rateLimitDecisions: 'shopflow_rate_limit_decisions_total',
  rateLimitErrors: 'shopflow_rate_limit_errors_total',
  apiKeyLookups: 'shopflow_api_key_lookups_total',
} as const;

/** Every metric name defined here, for checks of dashboards and alert rules. */
export const allMetricNames: readonly string[] = Object.values(metricNames);

/**
 * Metrics of the Temporal SDK (its Rust core) that the dashboard uses, as the worker exports them
 * (platform/temporal-logger.ts: `temporal_` prefix, seconds, unit suffixes, `_total` counters). The SDK
 * owns these names; a test checks a real worker still serves each of them.
 */
export const temporalSdkMetricNames: readonly string[] = [
  'temporal_worker_task_slots_available',
  'temporal_workflow_task_schedule_to_start_latency_seconds',
  'temporal_activity_schedule_to_start_latency_seconds',
];

/** The content type of Prometheus' text format, as prom-client writes it. */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Saga steps run from a few milliseconds (local activities) to seconds (providers, retries).
const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function newRegistry(processName: 'api' | 'worker' | 'projector'): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  // Process and Node.js runtime metrics (CPU, memory, event loop lag, GC) under their usual names.
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface ApiMetrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  ordersSubmitted: Counter;
  idempotentReplays: Counter<'scope'>;
  /** Read-cache lookups by kind (order, orders, search, dashboard) and result (hit, miss, bypass, error). */
  cacheRequests: Counter<'kind' | 'result'>;
  /** Loads from PostgreSQL after a miss: with single flight, fewer than the misses. */
  cacheLoads: Counter<'kind'>;
  /** How far each projection is behind the event store (set on each readiness check and scrape). */
  projectionLagEvents: Gauge<'projection'>;
  projectionLagSeconds: Gauge<'projection'>;
  /** Rate-limit checks by route class (read, write, orderWrite) and result (allowed, limited). */
  rateLimitDecisions: Counter<'class' | 'result'>;
  /** Rate-limit checks Redis failed, by the fail mode applied (open: let through, closed: 503). */
  rateLimitErrors: Counter<'mode'>;
  /** API keys looked up in the database (a key the process had not checked lately, made-up ones included). */
  apiKeyLookups: Counter;
  /** Exports one readiness check's results as gauges. */
  recordHealth(report: HealthReport): void;
}

export function createApiMetrics(registry: Registry = newRegistry('api')): ApiMetrics {
  const registers = [registry];
  const dependencyUp = new Gauge({
    name: metricNames.dependencyUp,
    help: 'Whether the dependency answered its last health check in time (1) or not (0)',
    labelNames: ['dependency'],
    registers,
  });
  const dependencyResponse = new Gauge({
    name: metricNames.dependencyResponse,
    help: 'How long the dependency took to answer (or fail) its last health check',
    labelNames: ['dependency'],
    registers,
  });
  const dependencyLastFailure = new Gauge({
    name: metricNames.dependencyLastFailure,
    help: 'When the dependency last failed a health check (Unix time; absent if it never failed)',
    labelNames: ['dependency'],
    registers,
  });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: metricNames.httpRequestDuration,
      help: 'HTTP requests served, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    }),
    ordersSubmitted: new Counter({
      name: metricNames.ordersSubmitted,
      help: 'Orders accepted whose workflow this API started (idempotent replays not counted)',
      registers,
    }),
    idempotentReplays: new Counter({
      name: metricNames.idempotentReplays,
      help: 'Requests answered with the stored response of an earlier request with the same Idempotency-Key',
      labelNames: ['scope'],
      registers,
    }),
    cacheRequests: new Counter({
      name: metricNames.cacheRequests,
      help: 'Read-cache lookups, by kind of read model and result (hit, miss, bypass, error)',
      labelNames: ['kind', 'result'],
      registers,
    }),
    cacheLoads: new Counter({
      name: metricNames.cacheLoads,
      help: 'Read-model loads from PostgreSQL after a cache miss (concurrent misses of one key share a load)',
      labelNames: ['kind'],
      registers,
    }),
    projectionLagEvents: new Gauge({
      name: metricNames.projectionLagEvents,
      help: 'Events a projection has not applied yet (outbox rows not yet relayed, plus stream entries not yet handled)',
      labelNames: ['projection'],
      registers,
    }),
    projectionLagSeconds: new Gauge({
      name: metricNames.projectionLagSeconds,
      help: 'Age of the oldest event a projection has not applied yet (0 when it is caught up)',
      labelNames: ['projection'],
      registers,
    }),
    rateLimitDecisions: new Counter({
      name: metricNames.rateLimitDecisions,
      help: 'Rate-limit checks of /v1 requests, by route class and result (allowed, limited)',
      labelNames: ['class', 'result'],
      registers,
    }),
    rateLimitErrors: new Counter({
      name: metricNames.rateLimitErrors,
      help: 'Rate-limit checks that failed because Redis did not answer, by fail mode (open, closed)',
      labelNames: ['mode'],
      registers,
    }),
    apiKeyLookups: new Counter({
      name: metricNames.apiKeyLookups,
      help: 'API keys looked up in the database: keys the process had not checked lately, made-up ones included',
      registers,
    }),
    recordHealth(report) {
      for (const [dependency, check] of Object.entries(report.checks)) {
        dependencyUp.set({ dependency }, check.status === 'DOWN' ? 0 : 1);
        dependencyResponse.set({ dependency }, check.responseTimeMs / 1000);
        if (check.lastError) dependencyLastFailure.set({ dependency }, Date.parse(check.lastError.at) / 1000);
      }
    },
  };
}

export interface WorkerMetrics {
  registry: Registry;
  ordersCompleted: Counter<'status'>;
  sagaStepDuration: Histogram<'step' | 'outcome'>;
  sagaCompensations: Counter<'step' | 'outcome'>;
  activityFailures: Counter<'activity' | 'type'>;
  /** Seller dashboard rows the scheduled full recalculation found different from the projection, and healed. */
  dashboardDrift: Counter;
}

export function createWorkerMetrics(registry: Registry = newRegistry('worker')): WorkerMetrics {
  const registers = [registry];
  return {
    registry,
    ordersCompleted: new Counter({
      name: metricNames.ordersCompleted,
      help: 'Orders that reached a final status (DELIVERED, CANCELLED or FAILED), by status',
      labelNames: ['status'],
      registers,
    }),
    sagaStepDuration: new Histogram({
      name: metricNames.sagaStepDuration,
      help: 'Duration of each attempt of a saga step or compensation, by step and outcome (completed or failed)',
      labelNames: ['step', 'outcome'],
      buckets: STEP_BUCKETS,
      registers,
    }),
    sagaCompensations: new Counter({
      name: metricNames.sagaCompensations,
      help: 'Compensations run to their end, by step and outcome (done, or failed for good)',
      labelNames: ['step', 'outcome'],
      registers,
    }),
    activityFailures: new Counter({
      name: metricNames.activityFailures,
      help: 'Failed activity attempts, by activity and failure type (the ApplicationFailure type or error name)',
      labelNames: ['activity', 'type'],
      registers,
    }),
    dashboardDrift: new Counter({
      name: metricNames.dashboardDrift,
      help: 'Seller dashboard rows the scheduled full recalculation found drifted from the projection (and healed)',
      registers,
    }),
  };
}

export interface ProjectorMetrics {
  registry: Registry;
  eventsApplied: Counter<'projection'>;
}

export function createProjectorMetrics(registry: Registry = newRegistry('projector')): ProjectorMetrics {
  return {
    registry,
    eventsApplied: new Counter({
      name: metricNames.projectionEventsApplied,
      help: 'Domain events applied to read models by the live projector, by projection',
      labelNames: ['projection'],
      registers: [registry],
    }),
  };
}
