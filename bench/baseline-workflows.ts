import { proxyActivities } from '@temporalio/workflow';

/**
 * The benchmark's yardstick: what the same server and worker do with the least possible work per
 * order (three no-op activities). The order saga's figures are reported as ratios to this, so
 * that a noisy machine does not move the comparison. The saga itself is registered beside it.
 */
export { orderWorkflow } from '../workflows/orders/order';

export interface BaselineActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '10s' });

export async function baselineWorkflow(): Promise<void> {
  await noop();
  await noop();
  await noop();
}
