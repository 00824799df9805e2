/**
 * Group commit for every relay loop of one process: claims woken by a NOTIFY start at least
 * `intervalMs` apart, whichever database's outbox they claim.
 *
 * A relay process runs one loop per database of the shard map (events/shard-relays.ts). Were each
 * loop paced on its own, N shards would make N times the claims per second of one database, each
 * with fewer rows: N times the claim transactions, the XADD round trips, and the projector rounds
 * that each batch of entries sets off, for the same orders. Measured with 4 shards
 * (bench/shard-orders.ts, 25 s each way): 97.6 CPU ms per order with loops paced alone at 100 ms,
 * 84.3 at 400 ms each (what one pace for four loops gives), as with one database. So the bound is
 * per process, as with one database: claims per second, not events per second, and not per shard.
 *
 * The price is latency under load only: with every shard busy, a shard's next claim waits up to N
 * intervals. An idle relay still claims a commit at once, and a full batch (a backlog) goes on
 * without waiting.
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
