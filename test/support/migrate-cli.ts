import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { entryEnv, repoRoot } from './processes';

export interface MigrateLogLine {
  msg: string;
  migration?: string;
  applied?: number;
  shard?: string;
  url?: string;
  error?: string;
}

/** `npm run db:migrate` is `tsx scripts/migrate.ts`; run it the same way, with arguments, and read its JSON log lines. */
export function runMigrateCli(databaseUrl: string, args: string[] = []) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts/migrate.ts'), ...args], {
    env: entryEnv({ DATABASE_URL: databaseUrl }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  const logs = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as MigrateLogLine);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, logs };
}
