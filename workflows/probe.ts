import { defineQuery, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { ProbeActivities } from '../activities/probe';
import { probeActivityOptions } from './activity-options';
import { SagaStep } from './orders/search-attributes';

export interface ProbeInput {
  probeId: string;
  workflowId: string;
  requestedBy: string;
  note: string;
}

export interface ProbeResult {
  probeId: string;
  postgresMs: number;
  redisMs: number;
  completedAt: string;
}

export type ProbeStep = 'record-request' | 'check-redis' | 'record-completion' | 'completed';

export interface ProbeState {
  step: ProbeStep;
  completedSteps: ProbeStep[];
}

export const probeStateQuery = defineQuery<ProbeState>('probeState');

const { recordProbeRequested, checkRedisRoundTrip, recordProbeCompleted } =
  proxyActivities<ProbeActivities>(probeActivityOptions);

/**
 * The platform probe: an end-to-end check an operator (or a synthetic monitor) runs to prove
 * that a workflow started through the API runs on a worker that reaches PostgreSQL and Redis.
 */
export async function platformProbeWorkflow(input: ProbeInput): Promise<ProbeResult> {
  const state: ProbeState = { step: 'record-request', completedSteps: [] };
  setHandler(probeStateQuery, () => state);

  const enter = (step: ProbeStep): void => {
    if (state.step !== step) state.completedSteps.push(state.step);
    state.step = step;
    upsertSearchAttributes([{ key: SagaStep, value: step }]);
  };

  enter('record-request');
  const { postgresMs } = await recordProbeRequested(input);
  enter('check-redis');
  const { redisMs } = await checkRedisRoundTrip({ probeId: input.probeId });
  enter('record-completion');
  const { completedAt } = await recordProbeCompleted({ probeId: input.probeId, postgresMs, redisMs });
  enter('completed');
  return { probeId: input.probeId, postgresMs, redisMs, completedAt };
}
