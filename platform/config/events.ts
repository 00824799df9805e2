import { booleanFlag, countBetween, nonNegativeMs, positiveMs } from './values';
import { area, variable } from './variable';

/** The domain event store (events/event-store.ts). */
export const events = area(
  { title: 'Event store' },
  {
    snapshotEvery: variable('SNAPSHOT_EVERY', countBetween(1, 1_000_000), {
      default: '100',
      description: "an aggregate's state is saved every this many events; rebuilds start there",
    }),
  },
);

/**
 * The outbox relay (scripts/relay.ts): batch size, polling fallback behind LISTEN/NOTIFY,
 * exponential backoff of failed publishes, retention of published rows, approximate stream trimming.
 */
export const relay = area(
  { title: 'Outbox relay', intro: 'The relay (`npm run relay`) that publishes outbox rows to Redis Streams.' },
  {
    batchSize: variable('RELAY_BATCH_SIZE', countBetween(1, 10_000), {
      default: '500',
      description: 'outbox rows the relay claims and publishes per batch',
    }),
    pollIntervalMs: variable('RELAY_POLL_INTERVAL_MS', positiveMs, {
      default: '1000',
      description: 'how often the relay polls besides waking on `NOTIFY outbox_events`',
    }),
    claimIntervalMs: variable('RELAY_CLAIM_INTERVAL_MS', nonNegativeMs, {
      default: '100',
      description:
        'least time between the starts of two claims woken by `NOTIFY`, across all the databases a relay process serves (with N shards each claims at most every N intervals while all are busy): an idle relay claims a commit at once, a busy one takes the commits of this interval in one batch (`0`: claim on every `NOTIFY`)',
    }),
    listen: variable('RELAY_LISTEN', booleanFlag, {
      default: 'true',
      description: 'wake the relay on PostgreSQL `LISTEN/NOTIFY` (`false`: poll only)',
    }),
    maxAttempts: variable('RELAY_MAX_ATTEMPTS', countBetween(1, 1000), {
      default: '10',
      description: 'publish attempts before an outbox row becomes `FAILED`',
    }),
    backoffBaseMs: variable('RELAY_BACKOFF_BASE_MS', positiveMs, {
      default: '200',
      description: 'first retry delay of a failed publish, doubled per attempt',
    }),
    retentionMs: variable('OUTBOX_RETENTION_MS', positiveMs, {
      default: '604800000',
      description: 'published outbox rows are deleted after this long (7 days); `domain_events` keeps every event',
    }),
    streamMaxLen: variable('STREAM_MAXLEN', countBetween(1, 1_000_000_000), {
      default: '100000',
      description: 'approximate length Redis Streams are trimmed to (`XADD MAXLEN ~`)',
    }),
  },
);
