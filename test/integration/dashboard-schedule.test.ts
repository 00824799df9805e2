import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { msToTs } from '@temporalio/common/lib/time';
import type { Config } from '../../platform/config';
import { createDatabase, type Database } from '../../platform/database';
import {
  DASHBOARD_RECALCULATION_WORKFLOW,
  DASHBOARD_SCHEDULE_ID,
  ensureDashboardSchedule,
} from '../../read-models/seller-dashboard/schedule';
import { createProduct } from '../../catalogue/product-store';
import { catchUp } from '../../read-models/projections/runner';
import { sellerDashboardProjection } from '../../read-models/projections/seller-dashboard';
import { createTemporalClient, type TemporalClient } from '../../platform/temporal';
import type { DashboardRecalculationSummary } from '../../workflows/dashboard-recalculation';
import { createSeller } from '../support/catalogue';
import { historiesDir } from '../support/histories';
import { createOutboxDatabase, type OutboxDatabase } from '../support/outbox';
import { eventually, startWorker, testConfig, type RunningWorker } from '../support/platform';

/**
 * The dashboard recalculation's Temporal Schedule on the integration dev server. The schedule id
 * is fixed, so the test works in a namespace of its own: workers of other test files (which keep
 * the schedule of the default namespace up to date at start-up) never move it under us.
 */

const HOUR_MS = 3_600_000;
let outbox: OutboxDatabase;
let config: Config;
let db: Database;
let temporal: TemporalClient;
let worker: RunningWorker | undefined;

async function registerNamespace(base: Config, namespace: string): Promise<void> {
  const admin = createTemporalClient(base);
  try {
    await admin.connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
  } finally {
    await admin.close();
  }
}

beforeAll(async () => {
  outbox = await createOutboxDatabase('dashboard_schedule');
  const namespace = `dashboard-schedule-${randomUUID().slice(0, 8)}`;
  config = testConfig({
    DATABASE_URL: outbox.url,
    TEMPORAL_NAMESPACE: namespace,
    DASHBOARD_RECALC_INTERVAL_MS: String(HOUR_MS),
  });
  await registerNamespace(config, namespace);
  db = createDatabase(config);
  temporal = createTemporalClient(config);
  // A new namespace takes a moment to be served.
  await eventually(() =>
    temporal.client.workflowService.describeNamespace({ namespace }).then(
      () => true,
      () => undefined,
    ),
  );
});

afterAll(async () => {
  await worker?.stop();
  await temporal?.close();
  await db?.$disconnect();
  await outbox?.drop();
});

describe('the seller-dashboard-recalculation schedule', () => {
  it('is created with the configured interval, then left alone, then updated when the interval changes', async () => {
    expect(await eventually(() => ensureDashboardSchedule(temporal.client, config).catch(() => undefined))).toEqual({
      scheduleId: DASHBOARD_SCHEDULE_ID,
      intervalMs: HOUR_MS,
      outcome: 'created',
    });
    expect((await ensureDashboardSchedule(temporal.client, config)).outcome).toBe('unchanged');

    const described = await temporal.client.schedule.getHandle(DASHBOARD_SCHEDULE_ID).describe();
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([HOUR_MS]);
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(described.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: DASHBOARD_RECALCULATION_WORKFLOW,
      taskQueue: config.temporal.taskQueue,
    });

    const faster = { ...config, dashboard: { recalcIntervalMs: 5 * 60_000 } };
    expect((await ensureDashboardSchedule(temporal.client, faster)).outcome).toBe('updated');
    const updated = await temporal.client.schedule.getHandle(DASHBOARD_SCHEDULE_ID).describe();
    expect(updated.spec.intervals?.map((i) => i.every)).toEqual([5 * 60_000]);
    expect((await ensureDashboardSchedule(temporal.client, config)).outcome).toBe('updated');
  });

  it('starts the recalculation workflow when triggered, which reports and heals drift', async () => {
    const seller = await createSeller(db, { name: 'Scheduled Seller' });
    await createProduct(db, {
      sellerId: seller.id,
      sku: 'SCHED-1',
      name: 'Clock',
      description: '',
      categoryPath: 'home/clocks',
      priceMinor: 2_500,
      currency: 'EUR',
      stock: 3,
      active: true,
    });
    await catchUp({ db, projection: sellerDashboardProjection });
    await db.$executeRawUnsafe(
      `UPDATE read_models.seller_dashboard_view SET total_products = 7 WHERE seller_id = $1::uuid`,
      seller.id,
    );
    await ensureDashboardSchedule(temporal.client, config);
    worker = await startWorker(config);

    const handle = temporal.client.schedule.getHandle(DASHBOARD_SCHEDULE_ID);
    await handle.trigger();
    const started = await eventually(async () => (await handle.describe()).info.recentActions[0]?.action);
    const run = temporal.client.workflow.getHandle(started.workflow.workflowId, started.workflow.firstExecutionRunId);
    const summary = (await run.result()) as DashboardRecalculationSummary;

    expect(summary.sellers).toBe(1);
    expect(summary.drifts).toEqual([
      { sellerId: seller.id, missing: false, fields: { total_products: { from: '7', to: '1' } } },
    ]);
    const [row] = await db.$queryRawUnsafe<{ total_products: number; last_calculated_at: Date | null }[]>(
      `SELECT total_products, last_calculated_at FROM read_models.seller_dashboard_view WHERE seller_id = $1::uuid`,
      seller.id,
    );
    expect(row).toEqual({ total_products: 1, last_calculated_at: new Date(summary.calculatedAt) });
    expect((await worker.metrics.dashboardDrift.get()).values[0]?.value).toBe(1);
    expect((await run.describe()).type).toBe(DASHBOARD_RECALCULATION_WORKFLOW);

    // `npm run histories:record`: the run's history guards the workflow (test/replay). Written
    // here rather than with recordHistory, which asks the CLI about the default namespace only.
    if (process.env['RECORD_HISTORIES'] === '1') {
      writeFileSync(path.join(historiesDir, 'dashboard-recalculation.json'), historyToJSON(await run.fetchHistory()));
    }
  });
});
