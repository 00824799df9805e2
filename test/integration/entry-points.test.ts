import { runEntry } from '../support/processes';

/**
 * Every entry point validates its settings before it touches anything: a bad value stops it
 * with exactly one line naming the variable and what is wrong, and exit code 78 (EX_CONFIG).
 */
describe.each(['api/server.ts', 'worker/main.ts', 'scripts/start.ts', 'scripts/migrate.ts', 'scripts/projector.ts'])(
  '%s with bad config',
  (entry) => {
    it.each([
      [{ PORT: 'abc' }, 'shopflow: invalid configuration: PORT must be a port number'],
      [
        { DATABASE_URL: 'nonsense' },
        'shopflow: invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL with a host',
      ],
      [
        { PORT: '0', REDIS_URL: 'nope' },
        'shopflow: invalid configuration: PORT must be between 1 and 65535; REDIS_URL must be a redis:// or rediss:// URL with a host',
      ],
    ])('%j stops with one clear line and exit code 78', (env, line) => {
      const result = runEntry(entry, env);
      expect(result.stderr).toBe(`${line}\n`);
      expect(result.stdout).toBe('');
      expect(result.status).toBe(78);
    });
  },
);
