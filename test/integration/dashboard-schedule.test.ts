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
import type { Seller } from '../../generated/prisma/client';
import { createSeller } from '../support/catalogue';
import { historiesDir } from '../support/histories';
import { createOutboxDatabase, type OutboxDatabase } from '../support/outbox';
import { eventually, startWorker, testConfig, type RunningWorker } from '../support/platform';

/**
 * The dashboard recalculation's Temporal Schedule on the integration dev server. The schedule id
 * is fixed, so the test works in a namespace of its own: workers of other test files (which keep
 * the schedule of the default namespace up to date at start-up) never move it under us. A worker
 * of that namespace runs whatever the schedule starts, as in production.
 */

const HOUR_MS = 3_600_000;
let outbox: OutboxDatabase;
let config: Config;
let db: Database;
let temporal: TemporalClient;
let worker: RunningWorker;

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
  // A new namespace takes a moment to be served, and a moment more to take schedules.
  await eventually(() =>
    temporal.client.workflowService.describeNamespace({ namespace }).then(
      () => true,
      () => undefined,
    ),
  );
  await eventually(() => takesSchedules().catch(() => undefined));
  worker = await startWorker(config);
});

afterAll(async () => {
  await worker?.stop();
  await temporal?.close();
  await db?.$disconnect();
  await outbox?.drop();
});

const scheduleHandle = () => temporal.client.schedule.getHandle(DASHBOARD_SCHEDULE_ID);

/** Creates and deletes a paused schedule of another id, which never starts anything. */
async function takesSchedules(): Promise<true> {
  const probe = await temporal.client.schedule.create({
    scheduleId: `namespace-probe-${randomUUID()}`,
    spec: { intervals: [{ every: HOUR_MS }] },
    action: {
      type: 'startWorkflow',
      workflowType: DASHBOARD_RECALCULATION_WORKFLOW,
      taskQueue: config.temporal.taskQueue,
    },
    state: { paused: true },
  });
  await probe.delete();
  return true;
}

/** A seller with one product, on the dashboard as the projector leaves it. */
async function sellerOnDashboard(name: string, sku: string): Promise<Seller> {
  const seller = await createSeller(db, { name });
  await createProduct(db, {
    sellerId: seller.id,
    sku,
    name: 'Clock',
    description: '',
    categoryPath: 'home/clocks',
    priceMinor: 2_500,
    currency: 'EUR',
    stock: 3,
    active: true,
  });
  await catchUp({ db, projection: sellerDashboardProjection });
  return seller;
}

async function lastCalculatedAt(sellerId: string): Promise<Date | null> {
  const [row] = await db.$queryRawUnsafe<{ last_calculated_at: Date | null }[]>(
    `SELECT last_calculated_at FROM read_models.seller_dashboard_view WHERE seller_id = $1::uuid`,
    sellerId,
  );
  return row!.last_calculated_at;
}

describe('the seller-dashboard-recalculation schedule', () => {
  it('recalculates once when it is created, so dashboards are checked without waiting an interval', async () => {
    const seller = await sellerOnDashboard('First Seller', 'FIRST-1');
    expect(await lastCalculatedAt(seller.id)).toBeNull();

    // Several workers start together in a namespace without the schedule: one creates it.
    const outcomes = await Promise.all([1, 2, 3].map(() => ensureDashboardSchedule(temporal.client, config)));
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['created', 'unchanged', 'unchanged']);

    // Checked within seconds, although the interval is an hour.
    expect(await eventually(async () => (await lastCalculatedAt(seller.id)) ?? undefined)).toBeInstanceOf(Date);
    // One run for all of them, and none for a worker that restarts.
    expect((await ensureDashboardSchedule(temporal.client, config)).outcome).toBe('unchanged');
    expect((await scheduleHandle().describe()).info.numActionsTaken).toBe(1);
  });

  it('has the configured interval, is left alone while it matches, and is updated when the interval changes', async () => {
    expect(await ensureDashboardSchedule(temporal.client, config)).toEqual({
      scheduleId: DASHBOARD_SCHEDULE_ID,
      intervalMs: HOUR_MS,
      outcome: 'unchanged',
    });

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
    const seller = await sellerOnDashboard('Scheduled Seller', 'SCHED-1');
    await db.$executeRawUnsafe(
      `UPDATE read_models.seller_dashboard_view SET total_products = 7 WHERE seller_id = $1::uuid`,
      seller.id,
    );
    await ensureDashboardSchedule(temporal.client, config);

    const handle = scheduleHandle();
    const before = (await handle.describe()).info.numActionsTaken;
    await handle.trigger();
    const started = await eventually(async () => {
      const { info } = await handle.describe();
      return info.numActionsTaken > before ? info.recentActions.at(-1)?.action : undefined;
    });
    const run = temporal.client.workflow.getHandle(started.workflow.workflowId, started.workflow.firstExecutionRunId);
    const summary = (await run.result()) as DashboardRecalculationSummary;

    expect(summary.sellers).toBe(await db.seller.count());
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
