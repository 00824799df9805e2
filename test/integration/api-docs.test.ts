import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { buildOpenApiDocument } from '../../api/openapi/document';
import { launchChromium, type LaunchedChromium } from '../support/chromium';
import { startApi, type TestPlatform } from '../support/platform';

/**
 * The API's contract as clients see it: /openapi.json is the generated document, and /docs shows
 * it in Swagger UI from files the API serves itself, so the page works with no internet access and
 * under helmet's content security policy. The browser is headless Chromium from
 * test/support/chromium.ts.
 */

describe('the API contract, served by the API', () => {
  let api: TestPlatform;
  let server: Server;
  let baseUrl: string;
  let browser: LaunchedChromium | undefined;

  beforeAll(async () => {
    api = await startApi();
    server = createServer(api.bareApp);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server.close(resolve));
    await api.close();
  });

  it('serves the document built from the routes, without a key', async () => {
    const response = await request(api.bareApp).get('/openapi.json').expect(200).expect('content-type', /json/);
    expect(response.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(api.config))));
  });

  it('shows every operation in Swagger UI, loading nothing from elsewhere and breaking no CSP rule', async () => {
    browser = await launchChromium();
    const { page } = browser;
    const foreign: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(baseUrl) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));

    await page.goto(`${baseUrl}/docs`);
    await page.getByText('shopflow API', { exact: false }).first().waitFor({ timeout: 15_000 });
    await page.locator('.opblock-summary-path', { hasText: '/v1/orders/{orderId}/cancel' }).first().waitFor();
    const operations = await page.locator('.opblock').count();
    const documented = Object.values(buildOpenApiDocument(api.config).paths ?? {}).flatMap((item) =>
      Object.keys(item as object),
    ).length;
    expect(operations).toBe(documented);
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('answers 404 for a file it does not serve', async () => {
    await request(api.bareApp)
      .get('/docs/index.html')
      .expect(404)
      .expect('content-type', /problem\+json/);
  });
});
