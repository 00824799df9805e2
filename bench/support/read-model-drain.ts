import { Client } from 'pg';
import { projections } from '../../read-models/projections';

/**
 * Whether the asynchronous part of the platform has finished with the events written so far:
 * the outbox relay has published every outbox row, and every projection (read-models/projections) has
 * applied every event of the aggregates it follows. Plain SQL only, on one connection of its own:
 * reading Redis stream state would count as shopflow's Redis commands, and the connection's pid
 * lets a benchmark leave its CPU time out. Each check is one transaction in the database:
 * `queries` counts them, for subtracting.
 */
export class ReadModelDrain {
  queries = 0;

  private constructor(
    private readonly client: Client,
    readonly pid: number,
  ) {}

  static async connect(databaseUrl: string): Promise<ReadModelDrain> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return new ReadModelDrain(client, rows[0]!.pid);
  }

  /** The newest event's position: later checks look only at events after it. */
  async lastPosition(): Promise<string> {
    this.queries += 1;
    const { rows } = await this.client.query<{ p: string }>(
      'SELECT COALESCE(max(position), 0)::text AS p FROM domain_events',
    );
    return rows[0]!.p;
  }

  /** Unpublished outbox rows, and events after `afterPosition` some projection has not applied. */
  async behind(afterPosition: string): Promise<{ outbox: number; unapplied: number }> {
    this.queries += 1;
    const followed = projections.flatMap((p) => p.aggregateTypes.map((type) => ({ name: p.name, type })));
    const { rows } = await this.client.query<{ outbox: number; unapplied: number }>(
      `SELECT
         (SELECT count(*) FROM outbox_events WHERE status = 'PENDING')::int AS outbox,
         (SELECT count(*) FROM jsonb_to_recordset($1::jsonb) AS f(name text, type text)
            JOIN domain_events e ON e.aggregate_type = f.type AND e.position > $2::bigint
            LEFT JOIN read_models.projection_positions p ON p.projection = f.name AND p.aggregate_id = e.aggregate_id
          WHERE e.version > COALESCE(p.version, 0))::int AS unapplied`,
      [JSON.stringify(followed), afterPosition],
    );
    return rows[0]!;
  }

  /** Milliseconds until nothing is behind; throws after `timeoutMs`. */
  async waitUntilDrained(afterPosition: string, timeoutMs: number, pollMs = 200): Promise<number> {
    const startedAt = performance.now();
    for (;;) {
      const { outbox, unapplied } = await this.behind(afterPosition);
      if (outbox === 0 && unapplied === 0) return performance.now() - startedAt;
      if (performance.now() - startedAt > timeoutMs)
        throw new Error(
          `not drained after ${timeoutMs / 1000} s: ${outbox} outbox rows, ${unapplied} events unapplied`,
        );
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  close(): Promise<void> {
    return this.client.end();
  }
}
