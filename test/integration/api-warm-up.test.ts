import pino from 'pino';
import { warmUp } from '../../api/warm-up';
import { createDatabase } from '../../platform/database';
import { sqlPoolOf } from '../../platform/sql-pool';
import { createTemporalClient } from '../../platform/temporal';
import { testConfig } from '../support/platform';

/** api/warm-up.ts: the API opens its connections before it listens, and never fails to start for it. */
describe('API warm-up', () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    return { logger, lines };
  }

  it('opens the PostgreSQL pool and the Temporal connection, and gives every connection back', async () => {
    const config = testConfig();
    const db = createDatabase(config);
    const temporal = createTemporalClient(config);
    const { logger, lines } = capture();
    try {
      await warmUp({ db, temporal, logger }, { connections: 4, timeoutMs: 10_000 });

      const pool = sqlPoolOf(db);
      expect(pool.totalCount).toBe(4);
      expect(pool.idleCount).toBe(4);
      expect(lines).toEqual([expect.objectContaining({ msg: 'warmed up', connections: 4 })]);
    } finally {
      await temporal.close();
      await db.$disconnect();
    }
  });

  it('gives up at its deadline when Temporal does not answer, says so, and still returns', async () => {
    const config = testConfig({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const db = createDatabase(config);
    const temporal = createTemporalClient(config);
    const { logger, lines } = capture();
    try {
      await warmUp({ db, temporal, logger }, { connections: 2, timeoutMs: 1_000 });

      expect(lines).toEqual([
        expect.objectContaining({
          msg: 'warm-up incomplete; first requests connect',
          failures: [expect.stringMatching(/^temporal: /)],
        }),
      ]);
      // The database part was done all the same.
      expect(sqlPoolOf(db).idleCount).toBe(2);
    } finally {
      await temporal.close().catch(() => undefined);
      await db.$disconnect();
    }
  });
});
