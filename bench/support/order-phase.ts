import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop } from './load';
import { orderJourney, type Journey } from './order-journey';
import { DRAIN_TIMEOUT_MS, type PlatformStage } from './platform-stage';
import { CpuMeter } from './proc-cpu';

/**
 * A measured phase of orders on a stage (bench/support/platform-stage.ts): from a quiet platform
 * until the relay and the projector have caught up with the phase's events, the CPU time of the
 * watched processes (their work for its orders counts). A script's own counters are read at the
 * start, just before the meter runs, and by the script once the phase is over.
 */

/** PostgreSQL 15 backends send their statistics at most once a second: wait that long and a bit. */
export const STATS_SETTLE_MS = 1_500;

/** Lets the statistics of what ran so far reach pg_stat_database, so that they land before what follows. */
export const settleStatistics = (): Promise<void> => sleep(STATS_SETTLE_MS);

/** What a phase meters besides its orders. */
export interface PhaseMetering<C> {
  /** The pids to meter and the group each counts towards, asked at every sample. */
  watch: () => Promise<Map<number, string>>;
  /** The script's own counters, read once the statistics have settled, just before the meter starts. */
  readCounters: () => C | Promise<C>;
}

export interface PhaseCpu {
  /** From the end of the load until the relay and the projector had caught up. */
  drainMs: number;
  cpuMsByGroup: Record<string, number>;
  exitedByGroup: Record<string, number>;
}

export interface MeteredPhase<C> {
  /** The script's counters as they stood at the start. */
  counters: C;
  /** Waits until the platform has caught up with the phase's events, then stops the meter. */
  stop(): Promise<PhaseCpu>;
}

export async function startMeteredPhase<C>(
  stage: PlatformStage,
  { watch, readCounters }: PhaseMetering<C>,
): Promise<MeteredPhase<C>> {
  // Statistics of the setup's last transactions must not land in the phase.
  await settleStatistics();
  const afterPosition = await stage.drain.lastPosition();
  const meter = new CpuMeter(watch);
  const counters = await readCounters();
  await meter.start();
  return {
    counters,
    async stop() {
      const drainMs = await stage.drain.waitUntilDrained(afterPosition, DRAIN_TIMEOUT_MS);
      const { cpuMsByGroup, exitedByGroup } = await meter.stop();
      return { drainMs, cpuMsByGroup, exitedByGroup };
    },
  };
}

export interface OrderLoop<C> extends PhaseCpu {
  journeys: Journey[];
  /** Orders the API accepted, ended or not. */
  accepted: number;
  errors: number;
  /** From the first submission to the last order's end: in a closed loop, the phase itself. */
  elapsedMs: number;
  counters: C;
}

/**
 * A closed loop of `concurrency` clients for `durationMs`, each driving one order journey at a
 * time (bench/support/order-journey.ts), in a metered phase.
 */
export async function measureOrderLoop<C>(
  stage: PlatformStage,
  load: { concurrency: number; durationMs: number; say: (message: string) => void },
  metering: PhaseMetering<C>,
): Promise<OrderLoop<C>> {
  const phase = await startMeteredPhase(stage, metering);
  let accepted = 0;
  const loop = await closedLoop(load.concurrency, load.durationMs, () =>
    orderJourney(stage.world, () => (accepted += 1)),
  );
  if (loop.firstError) load.say(`orders: first error: ${loop.firstError}`);
  const cpu = await phase.stop();
  return {
    journeys: loop.results,
    accepted,
    errors: loop.errors,
    elapsedMs: loop.elapsedMs,
    counters: phase.counters,
    ...cpu,
  };
}
