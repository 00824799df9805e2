/**
 * Group commit for every relay loop of one process: claims woken by a NOTIFY start at least
 * `intervalMs` apart, whichever database's outbox they claim.
 *
 * A relay process runs one loop per database of the shard map (events/shard-relays.ts). Were each
 * loop paced on its own, N shards would make N times the claims per second of one database, each
 * with fewer rows: N times the claim transactions, the XADD round trips, and the projector rounds
 * that each batch of entries sets off, for the same orders. So the bound is per process, as with
 * one database: claims per second, not events per second, and not per shard. Measured
 * (`npm run bench:shard-orders`, 3 rounds of 30 s, 8 clients): the CPU per order with 4 shards over
 * 1 shard's went from 1.272 (loops paced alone) to 1.059, with 2 shards from 1.133 to 1.077.
 *
 * The price is latency under load only: with every shard busy, a shard's next claim waits up to N
 * intervals (orders took 489 ms end to end with 4 shards, 415 with one). An idle relay still claims
 * a commit at once, and a full batch (a backlog) goes on without waiting. Claims on shared ticks
 * instead (every loop every interval, together) kept that latency lower (472 ms) but cost more CPU
 * (1.151 with 4 shards) and completed fewer orders (0.856 of one shard's against 0.869 here).
 */
export class ClaimPacer {
  /** The earliest start the next reservation may have. */
  private nextSlotAt = 0;

  constructor(private readonly intervalMs: number) {}

  /**
   * Reserves the next free start at or after `earliestAt` and `now` (epoch ms) and returns it;
   * later reservations come at least `intervalMs` after it. A loop passes its own last start plus
   * the interval, so that one loop alone is paced exactly as before.
   */
  reserve(earliestAt: number, now = Date.now()): number {
    const slot = Math.max(earliestAt, now, this.nextSlotAt);
    this.nextSlotAt = slot + this.intervalMs;
    return slot;
  }
}
