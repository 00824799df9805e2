import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import request from 'supertest';
import { orderWorkflowId } from '../../domain/ids';
import { createCustomer, createSellerWithProducts, orderRequestBody } from '../support/catalogue';
import { launchChromium, type LaunchedChromium } from '../support/chromium';
import {
  eventually,
  requiredEnv,
  startApi,
  startWorker,
  testConfig,
  type RunningWorker,
  type TestPlatform,
} from '../support/platform';
import { repoRoot } from '../support/processes';

/**
 * What an operator sees in the Temporal Web UI, in a real headless browser: the dev server's UI
 * lists orders by search attribute, finds the test's compensated order and shows its readable
 * summary. Screenshots go to test/artifacts/ (git-ignored) for a human to look at.
 *
 * The browser is the Chromium of the npm package @sparticuz/chromium (or CHROMIUM_PATH), driven by
 * playwright-core: see test/support/chromium.ts. No system browser is needed.
 */
const artifactsDir = path.join(repoRoot, 'test', 'artifacts');

describe('Temporal Web UI, in a headless browser', () => {
  const uiUrl = requiredEnv('SHOPFLOW_TEST_TEMPORAL_UI');
  let api: TestPlatform;
  let worker: RunningWorker;
  let browser: LaunchedChromium | undefined;

  beforeAll(async () => {
    const config = testConfig();
    api = await startApi(config);
    worker = await startWorker(config);
  });
  afterAll(async () => {
    await browser?.close();
    await worker.stop();
    await api.close();
  });

  async function openBrowser(): Promise<Page> {
    browser = await launchChromium({ viewport: { width: 1440, height: 1000 } });
    browser.page.setDefaultTimeout(15_000);
    return browser.page;
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    mkdirSync(artifactsDir, { recursive: true });
    await page.screenshot({ path: path.join(artifactsDir, `web-ui-${name}.png`), fullPage: true });
  }

  /** A declined card: the saga reserved stock, failed at payment and released the stock again. */
  async function compensatedOrder(): Promise<{ workflowId: string; customerId: string }> {
    const seller = await createSellerWithProducts(api.deps.db, [
      { priceMinor: 1250, stock: 5 },
      { priceMinor: 899, stock: 5 },
    ]);
    const customer = await createCustomer(api.deps.db);
    const items = [
      { productId: seller.products[0]!.id, quantity: 2 },
      { productId: seller.products[1]!.id, quantity: 1 },
    ];
    const accepted = await request(api.app)
      .post('/v1/orders')
      .set('Idempotency-Key', `web-ui-${randomUUID()}`)
      .send(orderRequestBody(customer.id, items, { payment: { token: 'tok_declined' } }))
      .expect(202);
    const workflowId = orderWorkflowId((accepted.body as { orderId: string }).orderId);

    const result = await api.deps.temporal.client.workflow.getHandle(workflowId).result();
    expect(result).toMatchObject({
      status: 'FAILED',
      failure: { step: 'take-payment', type: 'PaymentDeclined' },
      compensations: [{ name: 'release-inventory', outcome: 'done' }],
    });
    return { workflowId, customerId: customer.id };
  }

  it('lists the failed order by search attributes, opens it and shows its summary', async () => {
    const { workflowId, customerId } = await compensatedOrder();
    const query = `OrderStatus="FAILED" AND CustomerId="${customerId}"`;
    // Visibility is eventually consistent: the UI's list runs the same query as this.
    await eventually(async () => {
      for await (const execution of api.deps.temporal.client.workflow.list({ query })) {
        if (execution.workflowId === workflowId) return true;
      }
      return undefined;
    });

    const page = await openBrowser();
    try {
      // The list, filtered the way an operator would: UI 2.x takes the visibility query as `query`.
      const listUrl = `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
      const row = page.getByRole('link', { name: workflowId, exact: true }).first();
      // Reloads while the UI's list lags behind (the visibility store answered above already).
      await eventually(
        async () => {
          await page.goto(listUrl);
          return (await isShown(row, 5_000)) ? true : undefined;
        },
        30_000,
        0,
      ).catch(() => {
        throw new Error(`the Web UI's list for ${query} never showed ${workflowId}`);
      });
      await expectVisible(page.getByText('1 Workflow', { exact: true }), 'the list counts exactly one workflow');
      await screenshot(page, 'list');

      // The workflow's page: its id as the title, the summary on the start event.
      await row.click();
      await page.waitForURL(new RegExp(`/workflows/${workflowId}/[^/]+/history`));
      const summary = `3 items · 33.99 EUR · customer ${customerId}`;
      await expectVisible(page.getByRole('heading', { name: workflowId }), 'the workflow page is titled with its id');
      await expectReadable(page, page.getByText(summary, { exact: true }).first(), `the summary "${summary}"`);
      // The result, as the Web UI shows it: the saga undid the reservation.
      await expectReadable(page, page.getByText('"release-inventory"').first(), 'the compensation in the result');
      await screenshot(page, 'workflow');

      // The "User Metadata" tab renders the summary (markdown) in a frame of its own.
      await page.getByRole('tab', { name: /User Metadata/ }).click();
      await expectReadable(
        page,
        page.frameLocator('iframe[title="output"]').first().getByText(summary, { exact: true }),
        `the summary "${summary}" in the User Metadata tab`,
      );
      await screenshot(page, 'user-metadata');
    } catch (error) {
      await screenshot(page, 'failure').catch(() => undefined);
      throw error;
    }
  });
});

function isShown(locator: Locator, timeoutMs: number): Promise<boolean> {
  return locator.waitFor({ state: 'visible', timeout: timeoutMs }).then(
    () => true,
    () => false,
  );
}

/** Waits for a locator to be visible; on timeout, says what the operator should have seen. */
async function expectVisible(locator: Locator, what: string): Promise<void> {
  await locator.waitFor({ state: 'visible' }).catch((error: unknown) => {
    throw new Error(`${what}: not visible in the Web UI (see test/artifacts/web-ui-failure.png)\n${String(error)}`);
  });
}

/** `binary/encrypted` in base64, as the Web UI shows the metadata of a payload it cannot decode. */
const encryptedEncoding = Buffer.from('binary/encrypted').toString('base64');

/**
 * Waits for a payload's text (summary, input, result) to be visible in clear. When the Web UI
 * shows encrypted payloads instead, says so: it decodes them only through a codec server.
 */
async function expectReadable(page: Page, locator: Locator, what: string): Promise<void> {
  if (await isShown(locator, 15_000)) return;
  const encrypted = await page.getByText(encryptedEncoding).count();
  if (encrypted > 0) {
    throw new Error(
      `${what}: the Web UI shows payloads encrypted (encoding binary/encrypted) and has no codec server ` +
        'to decode them: the test dev server needs `--ui-codec-endpoint` pointing at a running codec server ' +
        '(see test/artifacts/web-ui-failure.png)',
    );
  }
  await expectVisible(locator, what);
}
