import { createActivities } from '../../activities';
import { createDatabase, type Database } from '../../platform/database';
import { createRedis, type RedisClient } from '../../platform/redis';
import type { ShardRouter } from '../../platform/shards/router';
import { createProviders } from '../../worker/providers';
import { shardRouterOn, testConfig } from './platform';

export interface SagaActivitiesUnderTest {
  db: Database;
  redis: RedisClient;
  shards: ShardRouter;
  activities: ReturnType<typeof createActivities>;
}

/**
 * The worker's activities, called directly (no Temporal) on the test database and Redis, with the
 * simulated providers: for tests of what an activity does to the world when run, retried or raced.
 * Registers the suite's beforeAll/afterAll; the fields are set once beforeAll has run.
 */
export function sagaActivitiesUnderTest(redisName: string): SagaActivitiesUnderTest {
  const under = {} as SagaActivitiesUnderTest;
  beforeAll(async () => {
    const config = testConfig();
    under.db = createDatabase(config);
    under.redis = createRedis(config, redisName);
    await under.redis.connect();
    under.shards = shardRouterOn(under.db, config);
    under.activities = createActivities({
      db: under.db,
      redis: under.redis,
      shards: under.shards,
      ...createProviders(config, under.redis),
    });
  });
  afterAll(async () => {
    await under.shards.close();
    await under.db.$disconnect();
    under.redis.disconnect();
  });
  return under;
}
