import SwaggerParser from '@apidevtools/swagger-parser';
import type { Express } from 'express';
import pino from 'pino';
import { createApp } from '../../api/app';
import type { AppDeps } from '../../api/deps';
import { buildOpenApiDocument } from '../../api/openapi/document';
import { loadConfig } from '../../platform/config';

/**
 * The document is generated from the routes' schemas; these tests keep the list of operations
 * honest too: every route createApp registers is documented, and nothing else is.
 */

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: RouteLayer[] };
}

/** `METHOD /path/{param}` for every route of the app, found as api/app.ts's allowedMethods finds them. */
function appOperations(app: Express): string[] {
  const operations: string[] = [];
  const visit = (layers: RouteLayer[] | undefined): void => {
    for (const layer of layers ?? []) {
      if (layer.route) {
        const path = layer.route.path.replace(/:(\w+)/g, '{$1}');
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') operations.push(`${method.toUpperCase()} ${path}`);
        }
      }
      visit(layer.handle?.stack);
    }
  };
  visit((app as unknown as { router: { stack: RouteLayer[] } }).router.stack);
  return operations.sort();
}

function documentOperations(document: ReturnType<typeof buildOpenApiDocument>): string[] {
  return Object.entries(document.paths ?? {})
    .flatMap(([path, item]) =>
      ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']
        .filter((method) => (item as Record<string, unknown>)[method] !== undefined)
        .map((method) => `${method.toUpperCase()} ${path}`),
    )
    .sort();
}

/** createApp only keeps its clients until a request arrives: stand-ins are enough to list its routes. */
function appWith(env: Record<string, string>): { app: Express; document: ReturnType<typeof buildOpenApiDocument> } {
  const config = loadConfig(env);
  const unused = {} as never;
  const deps: AppDeps = { config, db: unused, redis: unused, temporal: unused, logger: pino({ level: 'silent' }) };
  return { app: createApp(deps), document: buildOpenApiDocument(config) };
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const { document } = appWith({});
    expect(document.openapi).toBe('3.1.0');
    // validate() dereferences in place: it gets a copy.
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it('has an operation for every route of the app, and none for a route it does not have', () => {
    for (const env of [{}, { METRICS_ENABLED: 'false' }] as Record<string, string>[]) {
      const { app, document } = appWith(env);
      expect(documentOperations(document)).toEqual(appOperations(app));
    }
  });

  it('documents the limits the configuration sets', () => {
    const { document } = appWith({ ORDER_MAX_ITEMS: '7' });
    const body = document.paths?.['/v1/orders']?.post?.requestBody as {
      content: Record<string, { schema: { properties: Record<string, { maxItems?: number }> } }>;
    };
    expect(body.content['application/json']!.schema.properties['items']!.maxItems).toBe(7);
  });

  it('refuses an invalid document', async () => {
    const { document } = appWith({});
    // A parameter in a place OpenAPI does not have: the validator must notice.
    const broken = structuredClone(document) as unknown as {
      paths: Record<string, { get: { parameters: { in: string }[] } }>;
    };
    broken.paths['/v1/orders/{orderId}/events']!.get.parameters[0]!.in = 'body';
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/in|parameter/i);
  });
});
