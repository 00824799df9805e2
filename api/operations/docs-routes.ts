import path from 'node:path';
import { Router } from 'express';
import { absolutePath } from 'swagger-ui-dist';
import type { AppDeps } from '../deps';
import { buildOpenApiDocument } from '../openapi/document';
import { notFound } from '../http/problem';

/**
 * The API's contract: the OpenAPI document at /openapi.json and Swagger UI at /docs. Swagger UI's
 * files come from the swagger-ui-dist package and are served from here, so the page works without
 * internet access and within helmet's content security policy (no inline script, no CDN).
 */

/** The only files of swagger-ui-dist the page loads. */
export const DOCS_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css',
  'swagger-ui-bundle.js': 'text/javascript',
  'swagger-ui-standalone-preset.js': 'text/javascript',
  'favicon-32x32.png': 'image/png',
};

const INIT_SCRIPT = `window.onload = () => {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    // Swagger UI would otherwise send the document to validator.swagger.io for a badge.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>shopflow API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/swagger-ui-standalone-preset.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

export function docsRoutes({ config }: Pick<AppDeps, 'config'>): Router {
  const router = Router();
  // Built once: the document depends on the configuration only.
  const document = buildOpenApiDocument(config);
  const assets = absolutePath();

  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });

  router.get('/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });

  router.get('/docs/:asset', (req, res) => {
    const asset = req.params.asset;
    if (asset === 'init.js') {
      res.type('text/javascript').send(INIT_SCRIPT);
      return;
    }
    // Own names only: `constructor` or `__proto__` is no asset.
    const type = Object.hasOwn(DOCS_ASSETS, asset) ? DOCS_ASSETS[asset] : undefined;
    if (type === undefined) throw notFound(`no documentation asset ${asset}`);
    // Whole files only (no 206s): the documented answers are the file, 304, 404 and 412.
    res.type(type).sendFile(path.join(assets, asset), { maxAge: '1h', acceptRanges: false });
  });

  return router;
}
