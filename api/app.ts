import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { createApiKeyAuthenticator } from '../access/api-keys';
import { createReadCache } from '../read-models/cache';
import { requestIdOf, runInRequest } from '../platform/request-context';
import { createHealthMonitor } from '../platform/health';
import { createApiMetrics } from '../platform/metrics';
import { isPartitionFenced } from '../platform/shards/partition-fence';
import { createShardRouter } from '../platform/shards/router';
import { identifyCaller, lookUpKey, requireKey } from './access/authentication';
import type { AppDeps } from './deps';
import { createOrderCustomers } from './orders/order-customers';
import { docsRoutes } from './operations/docs-routes';
import { apiHealthChecks, healthRoutes } from './operations/health-routes';
import { httpMetrics } from './operations/http-metrics';
import { orderEventRoutes } from './orders/order-event-routes';
import { orderReadRoutes } from './orders/order-read-routes';
import { productRoutes } from './catalogue/product-routes';
import { productSearchRoutes } from './catalogue/product-search-routes';
import { sellerDashboardRoutes } from './sellers/seller-dashboard-routes';
import { orderRoutes } from './orders/order-routes';
import { HttpProblem, problemTypes, sendProblem } from './http/problem';
import { probeRoutes } from './operations/probe-routes';
import { rateLimitMiddleware } from './access/rate-limit';
import { shipmentRoutes } from './orders/shipment-routes';

export const BODY_LIMIT = '100kb';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the express app; `server.ts` only listens, so tests drive the app directly. */
export function createApp(given: AppDeps): Express {
  const metrics = given.metrics ?? createApiMetrics();
  const cache =
    given.cache ??
    createReadCache({ redis: given.redis, metrics, ttlMs: given.config.cache.ttlMs, logger: given.logger });
  const apiKeys =
    given.apiKeys ??
    createApiKeyAuthenticator(given.db, { ...given.config.apiKeys, onLookup: () => metrics.apiKeyLookups.inc() });
  const orderCustomers = given.orderCustomers ?? createOrderCustomers();
  const shards = given.shards ?? createShardRouter({ catalogue: given.db, database: given.config.database });
  const deps: AppDeps = { ...given, metrics, cache, apiKeys, orderCustomers, shards };
  const health = createHealthMonitor(apiHealthChecks(deps), {
    ...deps.config.health,
    onReport: (report) => metrics.recordHealth(report),
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.http.trustProxy);
  app.use(helmet());
  app.use(httpMetrics(metrics));
  app.use(
    pinoHttp({
      logger: deps.logger,
      // A caller's request id is kept (so a trace crosses services); otherwise we make one.
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url?.startsWith('/health/') ?? false },
    }),
  );
  app.use((req, _res, next) => runInRequest(requestIdOf(req), next));
  // Who is calling, then how often they may, then whether they may at all: a bad key is limited by
  // IP like any other request, and no body is parsed for a caller without a key.
  // A key the process knows costs nothing to identify; one it does not, a query, taken only after
  // the IP's token (a flood of made-up keys is refused before it reaches the database).
  const limits = rateLimitMiddleware({ ...deps, metrics });
  app.use(identifyCaller(apiKeys));
  app.use(limits.beforeKeyLookup);
  app.use(lookUpKey(apiKeys));
  app.use(limits.rateLimit);
  app.use(requireKey);
  app.use(requireJsonBodies);
  app.use(jsonBodies);

  // No CORS here (the docs page is same-origin), so OPTIONS gets what any unserved method gets:
  // 405 with the path's Allow, instead of express' own text/plain answer from one router's view.
  const refuseMethod = unknownRoute(app);
  app.use((req, res, next) => (req.method === 'OPTIONS' ? refuseMethod(req, res, next) : next()));
  app.use(healthRoutes(health));
  app.use(docsRoutes(deps));
  app.use(probeRoutes(deps));
  app.use(orderRoutes(deps));
  app.use(orderReadRoutes(deps));
  // Search before the product writes: /v1/products/search is not a product id.
  app.use(productSearchRoutes(deps));
  app.use(productRoutes(deps));
  app.use(sellerDashboardRoutes(deps));
  app.use(orderEventRoutes(deps));
  app.use(shipmentRoutes(deps));

  app.use(refuseMethod);
  app.use(problemHandler(deps));
  return app;
}

/** Writes that carry a body must say it is JSON: anything else is 415, not a silent `{}`. */
const requireJsonBodies: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  const type = req.headers['content-type'] ?? 'no content type';
  // JSON is UTF-8 (RFC 8259): another charset would be decoded into something the client never sent.
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1]?.toLowerCase();
  const problem =
    hasBody && !req.is('application/json')
      ? `request bodies must be application/json, got ${type}`
      : hasBody && charset !== undefined && charset !== 'utf-8' && charset !== 'utf8'
        ? `JSON bodies must be UTF-8, got charset ${charset}`
        : undefined;
  if (problem) {
    next(new HttpProblem(415, problemTypes.unsupportedMediaType, 'Unsupported Media Type', problem));
    return;
  }
  next();
};

const parseJson = express.json({ limit: BODY_LIMIT });

/**
 * The JSON body parser, whose refusals without a known type (a gzip or br body that does not
 * inflate) are the client's malformed body: 400, where they would otherwise pass as errors.
 */
const jsonBodies: RequestHandler = (req, res, next) => {
  parseJson(req, res, (error?: unknown) => {
    const { type, status } = (error ?? {}) as BodyParserError;
    if (error !== undefined && type === undefined && status !== undefined && status >= 400 && status < 500) {
      next(new HttpProblem(400, problemTypes.malformedJson, 'Malformed JSON', 'the request body could not be decoded'));
      return;
    }
    next(error);
  });
};

/** 405 with an Allow header when the path exists under another method; 404 otherwise. */
function unknownRoute(app: Express): RequestHandler {
  return (req, _res, next) => {
    const allowed = allowedMethods(app, req.path);
    if (allowed.length > 0) {
      next(
        new HttpProblem(
          405,
          problemTypes.methodNotAllowed,
          'Method Not Allowed',
          `${req.method} is not allowed on ${req.path}`,
          undefined,
          {
            Allow: allowed.join(', '),
          },
        ),
      );
      return;
    }
    next(new HttpProblem(404, problemTypes.notFound, 'Not Found', `no route for ${req.method} ${req.path}`));
  };
}

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
  matchers?: ((path: string) => unknown)[];
  handle?: { stack?: RouteLayer[] };
}

function allowedMethods(app: Express, path: string): string[] {
  const methods = new Set<string>();
  const visit = (layers: RouteLayer[] | undefined): void => {
    for (const layer of layers ?? []) {
      if (layer.route && layer.matchers?.some((match) => match(path))) {
        for (const [method, on] of Object.entries(layer.route.methods)) if (on) methods.add(method.toUpperCase());
      }
      visit(layer.handle?.stack);
    }
  };
  visit((app as unknown as { router: { stack: RouteLayer[] } }).router.stack);
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

interface BodyParserError {
  type?: string;
  status?: number;
  name?: string;
}

function problemHandler({ logger }: AppDeps): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const problem = toProblem(error);
    if (problem.status >= 500) {
      // The stack goes to the log with the request id, never to the client.
      (req.log ?? logger).error({ err: error }, 'request failed');
    }
    sendProblem(res, problem, req.originalUrl);
  };
}

function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  const bodyError = error as BodyParserError;
  if (bodyError.type === 'entity.parse.failed') {
    return new HttpProblem(400, problemTypes.malformedJson, 'Malformed JSON', 'the request body is not valid JSON');
  }
  if (bodyError.type === 'entity.too.large') {
    return new HttpProblem(
      413,
      problemTypes.payloadTooLarge,
      'Payload Too Large',
      `request bodies are limited to ${BODY_LIMIT}`,
    );
  }
  if (bodyError.type === 'encoding.unsupported' || bodyError.type === 'charset.unsupported') {
    return new HttpProblem(
      415,
      problemTypes.unsupportedMediaType,
      'Unsupported Media Type',
      'unsupported body encoding',
    );
  }
  // The router could not percent-decode a path parameter (`/v1/orders/%ZZ`).
  if (bodyError.name === 'URIError' && bodyError.status === 400) {
    return new HttpProblem(400, problemTypes.validation, 'Request validation failed', 'the path is invalid', [
      { field: 'path', message: 'must be valid percent-encoded UTF-8' },
    ]);
  }
  // Refusals of express itself or of a static file (416 for a bad Range, 412 for If-Match): kept as they are.
  if (bodyError.status !== undefined && bodyError.status >= 400 && bodyError.status < 500) {
    const title = STATUS_CODES[bodyError.status] ?? 'Bad Request';
    return new HttpProblem(bodyError.status, problemTypes.requestRefused, title, title);
  }
  // A customer being moved between shards: their writes wait a moment (docs/sharding.md, "Fencing").
  if (isPartitionFenced(error)) {
    return new HttpProblem(
      503,
      problemTypes.customerMoving,
      'Service Unavailable',
      "the customer's orders are being moved to another database; retry after Retry-After seconds",
      undefined,
      { 'Retry-After': String(error.retryAfterSeconds) },
    );
  }
  if (isUnavailable(error)) {
    return new HttpProblem(
      503,
      problemTypes.unavailable,
      'Service Unavailable',
      'a dependency is unavailable; retry later',
      undefined,
      {
        'Retry-After': '5',
      },
    );
  }
  return new HttpProblem(500, problemTypes.internal, 'Internal Server Error', 'an unexpected error occurred');
}

/** Errors meaning "a dependency is away" (gRPC UNAVAILABLE, refused connections): 503, not 500. */
function isUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; cause?: { code?: unknown } };
  return [e.code, e.cause?.code].some((code) => typeof code !== 'undefined' && unavailableCodes.has(code));
}

/** gRPC UNAVAILABLE, refused or timed-out connections, and Prisma's "cannot reach / timed out / pool timeout". */
const unavailableCodes = new Set<unknown>([14, 'ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'P1001', 'P1002', 'P2024']);
