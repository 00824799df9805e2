import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject } from 'zod-openapi';
import { createProbeBody, probePath } from '../operations/probe-routes';
import { bodyProblems, json, problems, responseHeaders, v1Operation } from './operations';
import { healthReport, liveness, probe } from './platform-responses';

/**
 * The platform probe (operators only) and the public routes: health and the contract itself. Metrics
 * are not the API's: they are served on a port of their own (api/operations/metrics-server.ts).
 */
export function platformPaths(): ZodOpenApiPathsObject {
  const publicOperation = (summary: string, operation: Omit<ZodOpenApiOperationObject, 'tags'>) => ({
    tags: ['platform'],
    summary,
    security: [],
    ...operation,
  });
  return {
    '/v1/probes': {
      post: v1Operation('platform', 'Start a platform probe', {
        description: 'A workflow that proves the whole path works: API, Temporal, worker, PostgreSQL and Redis.',
        requestBody: { content: { 'application/json': { schema: createProbeBody } } },
        responses: {
          '202': json('Started', probe, 'v1', { Location: z.string() }),
          ...problems([...bodyProblems, 403, 409], 'v1', { 409: 'A probe with this probeId was already started' }),
        },
      }),
    },
    '/v1/probes/{probeId}': {
      get: v1Operation('platform', "A probe's state and result", {
        requestParams: { path: probePath },
        responses: { '200': json('The probe', probe), ...problems([400, 403, 404]) },
      }),
    },
    '/health/live': {
      get: publicOperation('Liveness', {
        responses: { '200': json('The process serves requests', liveness, 'public'), ...problems([], 'public') },
      }),
    },
    '/health/ready': {
      get: publicOperation('Readiness: each dependency UP, DEGRADED or DOWN', {
        responses: {
          ...problems([], 'public'),
          '200': json('Ready (UP, or DEGRADED by an optional dependency)', healthReport, 'public'),
          '503': json('Not ready: a required dependency is DOWN', healthReport, 'public'),
        },
      }),
    },
    '/openapi.json': {
      get: publicOperation('This document', {
        responses: {
          '200': json('The OpenAPI 3.1 document', z.record(z.string(), z.unknown()), 'public'),
          ...problems([], 'public'),
        },
      }),
    },
    '/docs': {
      get: publicOperation('Browsable API documentation (Swagger UI)', {
        responses: {
          '200': {
            description: 'An HTML page; its assets are served under /docs/',
            headers: responseHeaders('public'),
            content: { 'text/html': { schema: z.string() } },
          },
          ...problems([], 'public'),
        },
      }),
    },
    '/docs/{asset}': {
      get: publicOperation("Swagger UI's files, served by the API itself", {
        requestParams: { path: z.object({ asset: z.string().meta({ example: 'swagger-ui-bundle.js' }) }) },
        responses: {
          '200': {
            description: 'The file',
            headers: responseHeaders('public'),
            content: {
              'text/css': { schema: z.string() },
              'text/javascript': { schema: z.string() },
              'image/png': { schema: z.string().meta({ contentMediaType: 'image/png' }) },
            },
          },
          '304': { description: 'Not Modified: the file still has the ETag sent in If-None-Match' },
          ...problems([404, 412], 'public', { 412: 'Precondition Failed: If-Match names another version of the file' }),
        },
      }),
    },
  };
}
