import { ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Principal } from '../domain/principal';
import type { Logger } from './logger';

/**
 * Temporal's remote codec protocol over HTTP, so the Web UI (and the CLI's `--codec-endpoint`)
 * show operators decrypted payloads while Temporal itself only ever stores ciphertext:
 * `POST …/encode` and `POST …/decode` take and return `{ payloads: [{ metadata, data }] }`, the
 * protobuf JSON form of `Payloads` (bytes as base64). Only the last path segment names the
 * operation, so the endpoints may be mounted at any depth, as the protocol asks.
 *
 * Decrypting a history shows everything an order carries (addresses, emails, payment tokens), so
 * only operators may, each with their own API key (role `operator`, `shopflow apikey create`):
 * `Authorization: Bearer <key>`. A revoked key stops working as it does on the API (within the key
 * cache's TTL); a customer's or seller's key is refused with 403. Every request is logged with the
 * key that made it, so who read which namespace's payloads can be told afterwards. The Web UI
 * cannot send a header of our choosing (it only forwards its own OIDC login token, and only over
 * HTTPS), so the key may instead be the path in front of the operation: an operator's codec
 * endpoint in the UI is then `http://host:port/<key>` and it calls `…/<key>/decode`. Browsers may
 * call from the configured origins only (CORS, preflight included).
 */

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Who holds this API key: undefined for a malformed, unknown or revoked one (access/api-keys.ts). */
  authenticate: (key: string) => Promise<Principal | undefined>;
  /** Web origins (the Web UI's) allowed to call from a browser. */
  corsOrigins: readonly string[];
  logger: Logger;
}

const operations = ['encode', 'decode'] as const;
type Operation = (typeof operations)[number];

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const payloadsBody = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), base64).nullish(),
      data: base64.nullish(),
    }),
  ),
});
type JsonPayload = { metadata: Record<string, string>; data?: string };

const problemTypeBase = 'https://shopflow.dev/problems/';

function sendProblem(res: Response, status: number, type: string, title: string, detail?: string): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: problemTypeBase + type, title, status, ...(detail ? { detail } : {}) }));
}

function fromJson(payload: z.infer<typeof payloadsBody>['payloads'][number]): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): JsonPayload {
  const json: JsonPayload = {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    ),
  };
  // Proto3 JSON leaves empty bytes out.
  if (payload.data && payload.data.length > 0) json.data = Buffer.from(payload.data).toString('base64');
  return json;
}

/** `/a/b/decode` → the operation and the path in front of it (URL-decoded), or undefined. */
function parsePath(path: string): { operation: Operation; prefix: string } | undefined {
  const segments = path.split('/').filter((s) => s !== '');
  const last = segments.pop();
  if (!operations.includes(last as Operation)) return undefined;
  try {
    return { operation: last as Operation, prefix: segments.map(decodeURIComponent).join('/') };
  } catch {
    return undefined;
  }
}

export function createCodecApp(options: CodecServerOptions): express.Express {
  const { codec, authenticate, logger } = options;
  const allowedOrigins = new Set(options.corsOrigins);
  const app = express();
  app.disable('x-powered-by');

  app.get('/health', (_req, res) => {
    res.json({ status: 'UP' });
  });

  // CORS: a browser on an allowed origin may call; one on any other origin is refused outright,
  // preflight or not. Clients without an Origin (the CLI, curl) are not browsers: the token decides.
  app.use((req, res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined) {
      if (req.method === 'OPTIONS') res.status(204).end();
      else next();
      return;
    }
    res.vary('Origin');
    if (!allowedOrigins.has(origin)) {
      sendProblem(res, 403, 'origin-not-allowed', 'Forbidden', `origin ${origin} may not call the codec server`);
      return;
    }
    res.set('Access-Control-Allow-Origin', origin);
    if (req.method === 'OPTIONS') {
      res.set({
        'Access-Control-Allow-Methods': 'POST',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, X-Namespace',
        'Access-Control-Max-Age': '600',
      });
      res.status(204).end();
      return;
    }
    next();
  });

  app.use(async (req, res, next) => {
    const route = parsePath(req.path);
    if (!route) {
      sendProblem(res, 404, 'not-found', 'Not Found', 'the codec server answers POST …/encode and …/decode');
      return;
    }
    if (req.method !== 'POST') {
      res.set('Allow', 'POST');
      sendProblem(res, 405, 'method-not-allowed', 'Method Not Allowed');
      return;
    }
    const header = req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
    const key = bearer ?? (route.prefix !== '' ? route.prefix : undefined);
    let principal: Principal | undefined;
    try {
      principal = key === undefined ? undefined : await authenticate(key);
    } catch (error) {
      next(error);
      return;
    }
    if (!principal) {
      res.set('WWW-Authenticate', key === undefined ? 'Bearer realm="shopflow-codec"' : 'Bearer error="invalid_token"');
      const detail =
        key === undefined ? 'the codec server needs an operator API key' : 'the API key is unknown or revoked';
      logger.warn({ operation: route.operation, keyGiven: key !== undefined }, 'codec request refused: no valid key');
      sendProblem(res, 401, 'unauthorized', 'Unauthorized', detail);
      return;
    }
    if (principal.role !== 'operator') {
      logger.warn(
        { operation: route.operation, keyId: principal.keyId, role: principal.role },
        'codec request refused: not an operator',
      );
      sendProblem(res, 403, 'forbidden', 'Forbidden', 'only operator keys may use the codec server');
      return;
    }
    res.locals['operation'] = route.operation;
    res.locals['principal'] = principal;
    next();
  });

  // Histories carry many payloads at once; Temporal's own limit is 2 MB per payload.
  app.use(express.json({ limit: '8mb', type: () => true }));

  app.use(async (req, res) => {
    const operation = res.locals['operation'] as Operation;
    const body = payloadsBody.safeParse(req.body);
    if (!body.success) {
      sendProblem(res, 400, 'validation-error', 'Bad Request', 'the body must be {"payloads": [{"metadata", "data"}]}');
      return;
    }
    const payloads = body.data.payloads.map(fromJson);
    // Who read what: one line per request, naming the key (its id; `shopflow apikey list` names it).
    logger.info(
      {
        operation,
        keyId: (res.locals['principal'] as Principal).keyId,
        namespace: req.get('X-Namespace') ?? null,
        payloads: payloads.length,
      },
      `codec ${operation}`,
    );
    try {
      const result = operation === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
      res.json({ payloads: result.map(toJson) });
    } catch (error) {
      if (error instanceof ValueError) {
        // Names a key id at most, never key material or payload content.
        logger.warn({ operation, reason: error.message }, 'codec server could not convert payloads');
        sendProblem(res, 422, 'payload-not-convertible', 'Unprocessable Content', error.message);
        return;
      }
      throw error;
    }
  });

  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status = (error as { status?: unknown }).status;
    if (status === 400 || status === 413) {
      if (status === 413) sendProblem(res, 413, 'payload-too-large', 'Content Too Large');
      else sendProblem(res, 400, 'malformed-json', 'Bad Request', 'the body is not JSON');
      return;
    }
    logger.error({ err: error }, 'codec server failed');
    sendProblem(res, 500, 'internal-error', 'Internal Server Error');
  });

  return app;
}
