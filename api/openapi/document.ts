import { createDocument, type oas31 } from 'zod-openapi';
import type { Config } from '../../platform/config';
import { cataloguePaths } from './catalogue-paths';
import { BEARER, problem } from './operations';
import { orderPaths } from './order-paths';
import { platformPaths } from './platform-paths';

export type OpenApiDocument = oas31.OpenAPIObject;

export const API_VERSION = '1.0.0';

/**
 * The API's OpenAPI 3.1 document, built from the zod schemas the routes validate requests with
 * (imported from each route module, never copied) and the response schemas beside this file.
 * Some request limits come from the configuration (an order's maximum items and quantity), so the
 * document is built for one configuration.
 */
export function buildOpenApiDocument(config: Config): OpenApiDocument {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'shopflow API',
      version: API_VERSION,
      description:
        'The order platform of a multi-seller marketplace. Every error is `application/problem+json` ' +
        '(RFC 9457). Routes under /v1 need an API key (`Authorization: Bearer <key>`) and are rate limited.',
    },
    servers: [{ url: '/', description: 'This server' }],
    tags: [
      { name: 'orders', description: 'Orders, their events and saga state, order lists' },
      { name: 'catalogue', description: 'Products, reviews, search and seller dashboards' },
      { name: 'shipments', description: "Carriers' callbacks" },
      { name: 'platform', description: 'Probes, health, metrics and this contract' },
    ],
    components: {
      // 405 answers a method no operation has, so no operation can reference it: registered here.
      responses: { Problem405: problem(405, 'v1') },
      securitySchemes: {
        [BEARER]: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key (`shopflow apikey create`), sent as a bearer token',
        },
      },
    },
    paths: {
      ...orderPaths(config),
      ...cataloguePaths(),
      ...platformPaths(),
    },
  });
}
