import { Client } from 'pg';
import { childrenOf, readProcStat } from './proc-cpu';

/**
 * What a PostgreSQL server did for one database: its transactions (pg_stat_database), statements
 * (pg_stat_statements, when the server loads it) and the processes whose CPU time to count.
 *
 * Reads through its own connection to the maintenance database, so that reading the counters adds
 * no transaction to the database measured. That connection's backend is left out of every sum.
 */
export class PostgresCounters {
  private constructor(
    private readonly admin: Client,
    readonly adminPid: number,
    readonly postmasterPid: number,
    readonly statementsAvailable: boolean,
  ) {}

  /** `url`: any database of the server; the counters connect to its `postgres` database. */
  static async connect(url: string): Promise<PostgresCounters> {
    const adminUrl = new URL(url);
    adminUrl.pathname = '/postgres';
    const admin = new Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    const { rows } = await admin.query<{ pid: number; libraries: string }>(
      `SELECT pg_backend_pid() AS pid, current_setting('shared_preload_libraries') AS libraries`,
    );
    const { pid, libraries } = rows[0]!;
    // Every backend is a child of the postmaster: ours tells which process that is.
    const postmasterPid = readProcStat(pid)?.ppid;
    if (!postmasterPid) throw new Error('cannot find the PostgreSQL postmaster: is the server on this machine?');
    const statements = libraries.split(',').some((l) => l.trim() === 'pg_stat_statements');
    return new PostgresCounters(admin, pid, postmasterPid, statements);
  }

  /**
   * Committed plus rolled-back transactions of `database` so far. Backends report them in batches
   * (PostgreSQL 15 flushes at most once a second, idle ones later): read after a pause.
   */
  async transactions(database: string): Promise<number> {
    // A fresh snapshot: within a transaction, statistics could be served from the previous one.
    await this.admin.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await this.admin.query<{ n: string }>(
      `SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1`,
      [database],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Statements run in `database` so far; undefined unless pg_stat_statements is loaded and installed there. */
  async statements(database: string): Promise<number | undefined> {
    if (!this.statementsAvailable) return undefined;
    try {
      const { rows } = await this.admin.query<{ n: string | null }>(
        `SELECT sum(calls)::text AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
         WHERE d.datname = $1`,
        [database],
      );
      return Number(rows[0]?.n ?? 0);
    } catch {
      // Loaded, but `CREATE EXTENSION pg_stat_statements` was never run in the maintenance database.
      return undefined;
    }
  }

  /**
   * The server's processes by group, for a CpuMeter: `postgres` for the backends of `database`
   * and the server's background processes (WAL writer, checkpointer, background writer: they work
   * for every database, on a shared server mostly for the busiest), `postgres_other_dbs` for
   * backends of other databases and for processes pg_stat_activity does not list yet (a new
   * connection; one of ours is listed, and counted as ours, by the next sample). Pids in
   * `exclude` (the benchmark's own connections) count for no group. The postmaster itself is left
   * out: its "children's time" in /proc is the time of every backend that ever exited on the
   * server, other people's included.
   */
  async processGroups(database: string, exclude: readonly number[]): Promise<Map<number, string>> {
    const { rows } = await this.admin.query<{ pid: number; datname: string | null }>(
      'SELECT pid, datname FROM pg_stat_activity',
    );
    const listed = new Map(rows.map((r) => [r.pid, r.datname]));
    const groups = new Map<number, string>();
    for (const child of childrenOf(this.postmasterPid)) {
      if (exclude.includes(child.pid) || child.pid === this.adminPid) continue;
      const datname = listed.get(child.pid);
      const ours = listed.has(child.pid) && (datname === null || datname === database);
      groups.set(child.pid, ours ? 'postgres' : 'postgres_other_dbs');
    }
    return groups;
  }

  close(): Promise<void> {
    return this.admin.end();
  }
}
