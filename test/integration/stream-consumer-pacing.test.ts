import { randomUUID } from 'node:crypto';
import { streamFields } from '../../events/outbox-relay';
import { consumeGroups, type StreamEvent } from '../../events/stream-consumer';
import { connectRedis, waitUntil } from '../support/outbox';
import { testServices } from '../support/services';
import type { RedisClient } from '../../platform/redis';

/**
 * consumeGroups' group commit (the projector's PROJECTOR_LINGER_MS): rounds that are not full start
 * at least `lingerMs` apart, and an entry after a quiet spell is handled at once.
 */
describe('stream consumer pacing', () => {
  let redis: RedisClient;
  let reader: RedisClient;
  const running: { stop: AbortController; done: Promise<void> }[] = [];

  beforeAll(() => {
    redis = connectRedis(testServices.redisUrl);
    reader = connectRedis(testServices.redisUrl);
  });
  afterEach(async () => {
    for (const { stop, done } of running.splice(0)) {
      stop.abort();
      await done;
    }
  });
  afterAll(async () => {
    await redis.del(...(await redis.keys('test:pacing:*')));
    redis.disconnect();
    reader.disconnect();
  });

  let sequence = 0;
  const append = (stream: string) =>
    redis.xadd(
      stream,
      '*',
      ...streamFields({
        sequence: String(++sequence),
        eventId: randomUUID(),
        aggregateType: 'test',
        aggregateId: randomUUID(),
        version: 1,
        eventType: 'TestHappened',
        payload: {},
        stream,
        retryCount: 0,
      }),
    );

  /** Starts a consumer; returns the rounds it handled (each with its entries' arrival times). */
  function consume(stream: string, lingerMs: number): { rounds: { at: number; events: StreamEvent[] }[] } {
    const rounds: { at: number; events: StreamEvent[] }[] = [];
    const stop = new AbortController();
    const done = consumeGroups({
      redis: reader,
      stream,
      groups: ['pacing'],
      consumer: 'test',
      lingerMs,
      blockMs: 200,
      signal: stop.signal,
      handle: (batches) => {
        rounds.push({ at: Date.now(), events: batches.get('pacing') ?? [] });
        return Promise.resolve();
      },
    });
    running.push({ stop, done });
    return { rounds };
  }

  it('handles an entry after a quiet spell at once, however long the linger', async () => {
    const stream = `test:pacing:${randomUUID()}`;
    const { rounds } = consume(stream, 1_500);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // quiet for longer than the linger

    const sent = Date.now();
    await append(stream);
    await waitUntil('the round', 5_000, () => Promise.resolve(rounds.length === 1));
    // Not held back for the linger.
    expect(rounds[0]!.at - sent).toBeLessThan(750);
  });

  it('handles a trickle in rounds at least the linger apart', async () => {
    const stream = `test:pacing:${randomUUID()}`;
    const { rounds } = consume(stream, 300);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // 60 entries, one every 20 ms: one round each without the linger.
    const started = Date.now();
    for (let i = 0; i < 60; i++) {
      await append(stream);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const appendingMs = Date.now() - started;
    await waitUntil('every entry', 5_000, () =>
      Promise.resolve(rounds.reduce((n, round) => n + round.events.length, 0) === 60),
    );

    expect(rounds.length).toBeGreaterThan(1);
    expect(rounds.length).toBeLessThanOrEqual(Math.ceil(appendingMs / 300) + 2);
    for (let i = 1; i < rounds.length; i++) expect(rounds[i]!.at - rounds[i - 1]!.at).toBeGreaterThanOrEqual(290);
  });
});
