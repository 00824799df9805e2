import { Client } from 'pg';
import { ClaimPacer } from './claim-pacer';
import { deleteExpiredPublished, publishBatch, type OutboxRelayDeps } from './outbox-relay';

/**
 * The relay's main loop: publish batches while there is work; when idle, sleep until a NOTIFY on
 * `outbox_events` (sent by a trigger at each insert's commit) or the poll interval, whichever is
 * first. LISTEN is an optimisation only: polling alone is correct, so a lost LISTEN connection
 * just makes the relay slower until it reconnects.
 */

const CLEANUP_INTERVAL_MS = 10 * 60_000;
const CHANNEL = 'outbox_events';

export interface RelayLoopOptions extends OutboxRelayDeps {
  databaseUrl: string;
  signal: AbortSignal;
  /** Called after every round that reached PostgreSQL: the health check's heartbeat. */
  onHeartbeat?: () => void;
  /** Shared by every loop of the process (events/claim-pacer.ts); a loop alone paces itself. */
  pacer?: ClaimPacer;
}

export async function runRelayLoop(options: RelayLoopOptions): Promise<void> {
  const { settings, logger, signal } = options;
  const wake = new Wakeup(signal);
  const claimed = new RecentlyClaimed(4 * settings.batchSize);
  const pacer = options.pacer ?? new ClaimPacer(settings.claimIntervalMs);
  const listener = settings.listen
    ? new Listener(
        options.databaseUrl,
        (sequence) => {
          if (!claimed.has(sequence)) wake.notify();
        },
        options,
      )
    : undefined;
  await listener?.start();
  let nextCleanup = 0;
  let failures = 0;
  try {
    while (!signal.aborted) {
      try {
        if (Date.now() >= nextCleanup) {
          const deleted = await deleteExpiredPublished(options.pool, settings.retentionMs);
          if (deleted > 0) logger.info({ deleted }, 'deleted published outbox rows past retention');
          nextCleanup = Date.now() + CLEANUP_INTERVAL_MS;
        }
        const roundStartedAt = Date.now();
        const { sequences, ...result } = await publishBatch(options);
        claimed.add(sequences);
        failures = 0;
        options.onHeartbeat?.();
        if (result.failed > 0) logger.warn(result, 'outbox batch: some publishes failed');
        else if (result.claimed > 0) logger.debug(result, 'outbox batch published');
        // A full batch means there is probably more; anything less and we wait for news. Then group
        // commit: a claim woken by a NOTIFY starts no sooner than `claimIntervalMs` after the last
        // one began, this loop's or another's of the process (the pacer). An idle relay so claims a
        // commit at once; a busy one takes the commits of that interval in one batch, instead of one
        // claim per commit plus empty ones for the NOTIFYs of rows an earlier claim already took.
        // Claims per second are bounded, not events per second.
        if (result.claimed < settings.batchSize && (await wake.wait(settings.pollIntervalMs)) === 'notified') {
          await wake.linger(pacer.reserve(roundStartedAt + settings.claimIntervalMs) - Date.now());
        }
      } catch (error) {
        failures += 1;
        const delay = Math.min(settings.backoffBaseMs * 2 ** Math.min(failures - 1, 10), 30_000);
        logger.error({ err: error, retryInMs: delay }, 'outbox relay round failed; rows stay pending');
        await wake.wait(delay);
      }
    }
  } finally {
    await listener?.stop();
  }
}

/**
 * The outbox sequences this relay's latest claims took. A NOTIFY names the highest sequence its
 * statement inserted and arrives after the commit, so a claim that began in between may already
 * have taken those rows: such a NOTIFY is old news, and waking for it would claim nothing. (Rows of
 * the statement the claim left, a full batch's or another relay's, are taken by the next round or
 * by that relay; the poll covers anything else.)
 */
class RecentlyClaimed {
  private readonly sequences = new Set<string>();

  constructor(private readonly capacity: number) {}

  add(sequences: readonly string[]): void {
    for (const sequence of sequences) this.sequences.add(sequence);
    // A Set iterates in insertion order: the oldest go first.
    for (const oldest of this.sequences) {
      if (this.sequences.size <= this.capacity) break;
      this.sequences.delete(oldest);
    }
  }

  has(sequence: string): boolean {
    return this.sequences.has(sequence);
  }
}

/** A sleep that a NOTIFY or the abort signal cuts short. */
class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.notify());
  }

  notify(): void {
    this.pending = true;
    this.resolve?.();
  }

  /** Until a NOTIFY (or the abort), or `ms`: 'notified' or 'timeout'. */
  wait(ms: number): Promise<'notified' | 'timeout'> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve('notified');
    }
    return new Promise((resolve) => {
      const done = (outcome: 'notified' | 'timeout'): void => {
        clearTimeout(timer);
        this.resolve = undefined;
        this.pending = false;
        resolve(outcome);
      };
      const timer = setTimeout(() => done('timeout'), ms);
      this.resolve = () => done('notified');
    });
  }

  /** Sleeps `ms` (cut short only by the abort); NOTIFYs meanwhile are absorbed, the claim after it finds their rows. */
  async linger(ms: number): Promise<void> {
    if (ms <= 0 || this.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.signal.addEventListener('abort', done);
    });
    this.pending = false;
  }
}

/** A dedicated connection LISTENing on the channel, reconnecting in the background when lost. */
class Listener {
  private client: Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly databaseUrl: string,
    /** Told each NOTIFY's payload: the highest sequence its statement inserted ('' from older triggers). */
    private readonly onNotify: (sequence: string) => void,
    private readonly deps: Pick<RelayLoopOptions, 'logger'>,
  ) {}

  async start(): Promise<void> {
    try {
      const client = new Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 5_000 });
      client.on('notification', (message) => this.onNotify(message.payload ?? ''));
      client.on('error', (error) => this.lost(error));
      client.on('end', () => this.lost(new Error('LISTEN connection ended')));
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.client = client;
      // Rows committed while we were not listening are found by this round, not by a NOTIFY.
      this.onNotify('');
    } catch (error) {
      this.lost(error);
    }
  }

  private lost(error: unknown): void {
    if (this.stopped || this.retryTimer) return;
    const old = this.client;
    this.client = undefined;
    old?.removeAllListeners('end');
    void old?.end().catch(() => undefined);
    this.deps.logger.warn({ err: error }, 'LISTEN connection lost; polling until it is back');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.start();
    }, 2_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    client?.removeAllListeners('end');
    await client?.end().catch(() => undefined);
  }
}
