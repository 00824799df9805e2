import type { RequestListener } from 'node:http';
import express from 'express';
import request from 'supertest';
import { buildOpenApiDocument } from '../../api/openapi/document';
import { loadConfig } from '../../platform/config';
import { contractChecked } from '../support/contract';

/** The contract check itself: it must catch each kind of drift between a handler and the document. */

const probeId = '0b6f4a43-5b7e-4d3c-9a51-1f2b3c4d5e6f';
const document = buildOpenApiDocument(loadConfig({}));

function checkedApp(answer: express.RequestHandler): { app: RequestListener; violations: () => string[] } {
  const app = express()
    .use((_req, res, next) => {
      res.setHeader('X-Request-Id', 'req-1');
      next();
    })
    .get('/v1/probes/:probeId', answer)
    .get('/nowhere', answer);
  const check = contractChecked(app, document);
  return { app: check.handler, violations: check.violations };
}

describe('the contract check', () => {
  it('accepts a response the document describes', async () => {
    const { app, violations } = checkedApp((_req, res) => {
      res.json({ probeId, workflowId: `probe-${probeId}`, status: 'RUNNING' });
    });
    await request(app).get(`/v1/probes/${probeId}`).expect(200);
    expect(violations()).toEqual([]);
  });

  it('reports a body that does not fit the schema', async () => {
    const { app, violations } = checkedApp((_req, res) => {
      res.json({ probeId, status: 'RUNNING', extra: true });
    });
    await request(app).get(`/v1/probes/${probeId}`).expect(200);
    expect(violations()).toEqual([expect.stringMatching(/200: body: .*workflowId.*additional properties/)]);
  });

  it('reports an undocumented status and a content type the response does not have', async () => {
    const { app, violations } = checkedApp((req, res) => {
      if (req.query.teapot) res.status(418).json({});
      else res.type('text/plain').send('fine');
    });
    await request(app).get(`/v1/probes/${probeId}?teapot=1`).expect(418);
    await request(app).get(`/v1/probes/${probeId}`).expect(200);
    expect(violations()).toEqual([
      expect.stringContaining('status 418 is not documented for GET /v1/probes/{probeId}'),
      expect.stringContaining("content type 'text/plain' is not one of application/json"),
    ]);
  });

  it('reports a missing required header and a route the document does not have', async () => {
    const { app, violations } = checkedApp((_req, res) => {
      res.removeHeader('X-Request-Id');
      res
        .status(404)
        .type('application/problem+json')
        .send({ type: 'https://shopflow.dev/problems/not-found', title: 'Not Found', status: 404 });
    });
    await request(app).get(`/v1/probes/${probeId}`).expect(404);
    await request(app).get('/nowhere').expect(404);
    expect(violations()).toEqual([
      expect.stringContaining('required header X-Request-Id is missing'),
      expect.stringContaining('required header X-Request-Id is missing'),
    ]);
    await request(app).post('/nowhere').expect(404);
    expect(violations()).toHaveLength(3);
  });
});
