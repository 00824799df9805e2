import { Client } from 'pg';

/**
 * Server-level chores on PostgreSQL (not on one database's tables): whether it answers,
 * and creating or dropping databases. Used by `npm start`, `npm run db:migrate` and tests.
 */

function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`database name "${name}" is not a plain identifier`);
  return name;
}

async function withMaintenanceClient<T>(databaseUrl: string, run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({
    connectionString: withDatabase(databaseUrl, 'postgres'),
    connectionTimeoutMillis: 3_000,
  });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export async function isPostgresAnswering(databaseUrl: string): Promise<boolean> {
  return (await whyPostgresIsNotAnswering(databaseUrl)) === undefined;
}

/** Why the URL's server does not answer (as the driver says it), or undefined when it does. */
export async function whyPostgresIsNotAnswering(databaseUrl: string): Promise<string | undefined> {
  try {
    await withMaintenanceClient(databaseUrl, (c) => c.query('SELECT 1'));
    return undefined;
  } catch (error) {
    return connectionErrorMessage(error);
  }
}

/**
 * A connection error in a few words. Node reports a refused `localhost` (tried on ::1 and
 * 127.0.0.1) as an AggregateError with an empty message: its parts say what happened.
 */
export function connectionErrorMessage(error: unknown): string {
  if (error instanceof AggregateError && !error.message)
    return error.errors.map((e: unknown) => connectionErrorMessage(e)).join('; ');
  if (error instanceof Error) return error.message || ((error as { code?: string }).code ?? error.name);
  return String(error);
}

/** A URL (PostgreSQL's, Redis's) with its password replaced by `***`: what may be printed or logged. */
export function printableUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/** Creates the URL's database unless it exists. Returns whether it created it. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  return withMaintenanceClient(databaseUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } catch (error) {
      // Two processes may race to create it; the loser finds it there.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
    return true;
  });
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  await withMaintenanceClient(databaseUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

export function databaseUrlFor(databaseUrl: string, database: string): string {
  return withDatabase(databaseUrl, database);
}
