import { Command, InvalidArgumentError, Option } from 'commander';
import { roles, type Role } from '../../domain/principal';
import { isUuid } from '../../domain/ids';
import { ApiKeyError, createApiKey, listApiKeys, revokeApiKey, type ApiKeyRecord } from '../../access/api-keys';
import { loadConfigOrExit } from '../../platform/config';
import { createDatabase, type Database } from '../../platform/database';
import { UsageError } from '../history-sources';
import { printJson } from '../output';

/**
 * `shopflow apikey`: the API's keys. `create` prints the key once (only its hash is stored);
 * `revoke` stops it on every API process within API_KEY_CACHE_TTL_MS; `list` never shows keys.
 */
export function apiKeyCommand(): Command {
  const command = new Command('apikey').description(
    'Create, revoke and list API keys (roles: customer, seller, operator).',
  );

  command
    .command('create')
    .description('Create a key and print it once; store it now, it cannot be shown again.')
    .addOption(new Option('--role <role>', 'who the key acts as').choices(roles).makeOptionMandatory())
    .option('--customer <id>', 'the customer a customer key acts for', uuidArgument)
    .option('--seller <id>', 'the seller a seller key acts for', uuidArgument)
    .option('--name <name>', 'what the key is for (shown by list)', nameArgument)
    .option('--json', 'print as JSON', false)
    .action(async (options: { role: Role; customer?: string; seller?: string; name?: string; json: boolean }) => {
      const { key, record } = await withDatabase((db) =>
        createApiKey(db, {
          role: options.role,
          ...(options.customer ? { customerId: options.customer } : {}),
          ...(options.seller ? { sellerId: options.seller } : {}),
          name: options.name ?? `${options.role} key`,
        }),
      );
      if (options.json) {
        printJson({ key, ...view(record) });
        return;
      }
      process.stdout.write(`${key}\n`);
      process.stderr.write(`created ${describe(record)}; the key above is shown only now\n`);
    });

  command
    .command('revoke')
    .description('Revoke a key by its id or lookup id (as `list` shows them).')
    .argument('<id>', 'the key id (UUID) or lookup id (16 hex digits)')
    .option('--json', 'print as JSON', false)
    .action(async (id: string, options: { json: boolean }) => {
      const record = await withDatabase((db) => revokeApiKey(db, id));
      if (options.json) printJson(view(record));
      else process.stdout.write(`revoked ${describe(record)}\n`);
    });

  command
    .command('list')
    .description('List keys (never the keys themselves): id, lookup id, role, binding, name, last use.')
    .addOption(new Option('--role <role>', 'only keys of this role').choices(roles))
    .option('--all', 'include revoked keys', false)
    .option('--json', 'print as JSON', false)
    .action(async (options: { role?: Role; all: boolean; json: boolean }) => {
      const records = await withDatabase((db) =>
        listApiKeys(db, { ...(options.role ? { role: options.role } : {}), includeRevoked: options.all }),
      );
      if (options.json) {
        printJson(records.map(view));
        return;
      }
      if (records.length === 0) process.stdout.write('no API keys\n');
      for (const record of records) process.stdout.write(`${describe(record)}\n`);
    });

  return command;
}

function view(record: ApiKeyRecord) {
  return {
    id: record.id,
    lookupId: record.lookupId,
    role: record.role,
    customerId: record.customerId,
    sellerId: record.sellerId,
    name: record.name,
    createdAt: record.createdAt.toISOString(),
    revokedAt: record.revokedAt?.toISOString() ?? null,
    lastUsedAt: record.lastUsedAt?.toISOString() ?? null,
  };
}

function describe(record: ApiKeyRecord): string {
  const binding = record.customerId
    ? ` customer ${record.customerId}`
    : record.sellerId
      ? ` seller ${record.sellerId}`
      : '';
  const state = record.revokedAt ? `revoked ${record.revokedAt.toISOString()}` : 'active';
  const used = record.lastUsedAt ? `last used ${record.lastUsedAt.toISOString()}` : 'never used';
  return `${record.id} sfk_${record.lookupId}_… ${record.role}${binding} "${record.name}" ${state}, ${used}`;
}

function uuidArgument(value: string): string {
  if (!isUuid(value)) throw new InvalidArgumentError('must be a UUID');
  return value;
}

function nameArgument(value: string): string {
  if (value.trim() === '' || value.length > 100) throw new InvalidArgumentError('must be 1 to 100 characters');
  return value;
}

/** Refusals (unknown customer, missing binding, no such key) are usage errors: one line, exit 2. */
async function withDatabase<T>(use: (db: Database) => Promise<T>): Promise<T> {
  const db = createDatabase(loadConfigOrExit());
  try {
    return await use(db);
  } catch (error) {
    throw error instanceof ApiKeyError ? new UsageError(error.message) : error;
  } finally {
    await db.$disconnect();
  }
}
