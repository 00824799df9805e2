/**
 * Group commit for every relay loop of one process: claims woken by a NOTIFY start on shared
 * ticks, at least `intervalMs` apart, so that the loops of all the shards claim together.
 *
 * A relay process runs one loop per database of the shard map (events/shard-relays.ts). Paced each
 * on its own, the loops claimed at unrelated moments: every claim's entries reached the streams on
 * their own, and the projector, which applies what arrived within its linger in one round, ran a
 * round per shard's batch, each reading events on that shard. On shared ticks their batches reach
 * the streams within a few milliseconds of each other and the projector takes them in one round:
 * rounds per second stay those of one database, whatever the number of shards, and no claim waits
 * longer than with one database.
 *
 * A loop passes its own rule (its last start plus the interval); its claim starts on the first
 * tick at or after that. An idle relay, whose rule has long passed, claims a commit at once and
 * starts a new run of ticks there; a full batch (a backlog) goes on without asking.
 */
export class ClaimPacer {
  /** The latest tick: claims of every loop start on it or on one a whole number of intervals later. */
  private tickAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly intervalMs: number) {}

  /** The start of a claim that may start no sooner than `earliestAt` (epoch ms), given the time `now`. */
  reserve(earliestAt: number, now = Date.now()): number {
    const wanted = Math.max(earliestAt, now);
    if (this.intervalMs <= 0 || wanted >= this.tickAt + this.intervalMs) {
      // Nothing claimed within an interval: a new run of ticks starts with this claim.
      this.tickAt = wanted;
      return wanted;
    }
    // Within the current run: the first tick at or after the wanted time, shared with the others.
    const ticksAhead = Math.max(0, Math.ceil((wanted - this.tickAt) / this.intervalMs));
    const slot = this.tickAt + ticksAhead * this.intervalMs;
    this.tickAt = slot;
    return slot;
  }
}
