import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleUpdateOptions,
  type Workflow,
} from '@temporalio/client';
import type { Config } from '../../platform/config';

/**
 * The Temporal Schedule that runs the seller dashboards' full recalculation
 * (workflows/dashboard-recalculation.ts) every DASHBOARD_RECALC_INTERVAL_MS.
 *
 * Created or brought up to date by every worker at start-up and by `shopflow setup`, so changing
 * the interval (or the task queue) needs no manual step. Runs never overlap (SKIP): a run still
 * going when the next is due makes that one skip. A run that no worker picks up within one interval
 * times out, and the next one takes over.
 *
 * Creating the schedule also runs it once, straight away, so a new deployment's dashboards are
 * checked (last_calculated_at set) without waiting an interval. Only creating does: creation is
 * atomic, so of several workers starting together exactly one creates the schedule and starts that
 * run, and a restart, which finds the schedule, starts none. A full recalculation holds the
 * projection's lock for its whole transaction, so a rolling restart of many workers must not add one
 * sweep per worker.
 */

export const DASHBOARD_SCHEDULE_ID = 'seller-dashboard-recalculation';
/** The workflow's registered name: `dashboardRecalculationWorkflow` in workflows/index.ts. */
export const DASHBOARD_RECALCULATION_WORKFLOW = 'dashboardRecalculationWorkflow';

export type ScheduleOutcome = 'created' | 'updated' | 'unchanged';

export interface DashboardScheduleResult {
  scheduleId: string;
  intervalMs: number;
  outcome: ScheduleOutcome;
}

type RecalculationAction = ScheduleOptionsStartWorkflowAction<Workflow>;

function desiredSchedule(config: Pick<Config, 'temporal' | 'dashboard'>): ScheduleUpdateOptions<RecalculationAction> {
  const intervalMs = config.dashboard.recalcIntervalMs;
  return {
    spec: { intervals: [{ every: intervalMs }] },
    action: {
      type: 'startWorkflow',
      workflowType: DASHBOARD_RECALCULATION_WORKFLOW,
      taskQueue: config.temporal.taskQueue,
      workflowId: `${DASHBOARD_SCHEDULE_ID}-run`,
      workflowExecutionTimeout: intervalMs,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.min(intervalMs, 60 * 60_000) },
    state: { paused: false, note: 'managed by shopflow (read-models/seller-dashboard/schedule.ts)' },
  };
}

/** Whether an existing schedule already does what `desired` says (the fields shopflow manages). */
export function scheduleMatches(
  existing: ScheduleDescription,
  desired: ScheduleUpdateOptions<RecalculationAction>,
): boolean {
  const intervals = existing.spec.intervals ?? [];
  const action = existing.action;
  return (
    intervals.length === 1 &&
    intervals[0]!.every === desired.spec.intervals![0]!.every &&
    (existing.spec.calendars ?? []).length === 0 &&
    action.type === 'startWorkflow' &&
    action.workflowType === desired.action.workflowType &&
    action.taskQueue === desired.action.taskQueue &&
    action.workflowId === desired.action.workflowId &&
    existing.policies.overlap === ScheduleOverlapPolicy.SKIP &&
    !existing.state.paused
  );
}

/** Creates the schedule, or updates it to the configuration; idempotent and safe to race. */
export async function ensureDashboardSchedule(
  client: Client,
  config: Pick<Config, 'temporal' | 'dashboard'>,
): Promise<DashboardScheduleResult> {
  const desired = desiredSchedule(config);
  const result = (outcome: ScheduleOutcome): DashboardScheduleResult => ({
    scheduleId: DASHBOARD_SCHEDULE_ID,
    intervalMs: config.dashboard.recalcIntervalMs,
    outcome,
  });
  try {
    await client.schedule.create({
      scheduleId: DASHBOARD_SCHEDULE_ID,
      ...desired,
      state: { ...desired.state, triggerImmediately: true },
    });
    return result('created');
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  // Workers starting together race here: an update carries the description's conflict token and
  // fails if another process changed the schedule in between, so describe again and retry.
  const handle = client.schedule.getHandle(DASHBOARD_SCHEDULE_ID);
  for (let attempt = 1; ; attempt += 1) {
    try {
      if (scheduleMatches(await handle.describe(), desired)) return result('unchanged');
      await handle.update(() => desired);
      return result('updated');
    } catch (error) {
      if (attempt >= UPDATE_ATTEMPTS) throw error;
    }
  }
}

const UPDATE_ATTEMPTS = 3;
