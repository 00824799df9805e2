import type { RequestHandler } from 'express';
import type { ApiMetrics } from '../../platform/metrics';

/**
 * Times every request into `shopflow_http_request_duration_seconds`, labelled with the express
 * route pattern (`/v1/orders/:orderId`), never the raw URL, so ids cannot explode the label set.
 */
export function httpMetrics(metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpRequestDuration.startTimer();
    res.once('finish', () => {
      stop({ method: req.method, route: routePattern(req), status: String(res.statusCode) });
    });
    next();
  };
}

/** Requests no route matched (404, 405, bad bodies rejected before routing) share one label. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The matched route's pattern. Read when the response is finished: express has restored `baseUrl`
 * by then (undefined after an error reached the final handler), so the pattern is the route's own
 * path, which is the full path as long as routers are mounted at the root, as createApp does.
 */
function routePattern(req: { baseUrl?: string; route?: { path?: unknown } }): string {
  const path = req.route?.path;
  return typeof path === 'string' ? `${req.baseUrl ?? ''}${path}` : UNMATCHED_ROUTE;
}
