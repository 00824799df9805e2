import { Command, InvalidArgumentError } from 'commander';
import { Pool } from 'pg';
import { loadConfigOrExit } from '../../platform/config';
import { outboxCounts, republishFrom, retryFailed } from '../../events/outbox-relay';
import { printJson } from '../output';

/**
 * `shopflow outbox`: operate the transactional outbox the relay publishes to Redis Streams.
 * Both changes only reset rows to PENDING; a running relay (`npm run relay`) publishes them.
 */
export function outboxCommand(): Command {
  const outbox = new Command('outbox').description(
    'Operate the outbox (outbox_events in DATABASE_URL) that the relay publishes to Redis Streams.',
  );
  outbox
    .command('status')
    .description('Count outbox rows by status.')
    .option('--json', 'print as JSON', false)
    .action(async (options: { json: boolean }) => {
      const counts = await withPool((pool) => outboxCounts(pool));
      if (options.json) printJson(counts);
      else
        process.stdout.write(
          `outbox: ${counts.pending} pending, ${counts.published} published, ${counts.failed} failed\n`,
        );
    });
  outbox
    .command('retry-failed')
    .description('Put FAILED rows (publish attempts exhausted) back to PENDING with a fresh attempt count.')
    .option('--json', 'print as JSON', false)
    .action(async (options: { json: boolean }) => {
      const reset = await withPool((pool) => retryFailed(pool));
      if (options.json) printJson({ reset });
      else process.stdout.write(`${reset} failed outbox rows put back to pending\n`);
    });
  outbox
    .command('republish')
    .description(
      'Publish every outbox row from a sequence on again, e.g. after Redis lost its streams.\n' +
        'Consumers de-duplicate events they had already handled. Rows deleted by retention are gone.',
    )
    .requiredOption('--from-sequence <n>', 'first outbox sequence to publish again', parseSequence)
    .option('--json', 'print as JSON', false)
    .action(async (options: { fromSequence: bigint; json: boolean }) => {
      const reset = await withPool((pool) => republishFrom(pool, options.fromSequence));
      if (options.json) printJson({ fromSequence: options.fromSequence.toString(), reset });
      else process.stdout.write(`${reset} outbox rows from sequence ${options.fromSequence} queued to publish again\n`);
    });
  return outbox;
}

function parseSequence(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number (an outbox sequence)');
  return BigInt(value);
}

async function withPool<T>(use: (pool: Pool) => Promise<T>): Promise<T> {
  const config = loadConfigOrExit();
  const pool = new Pool({ connectionString: config.database.url, max: 1, connectionTimeoutMillis: 5_000 });
  try {
    return await use(pool);
  } finally {
    await pool.end();
  }
}
