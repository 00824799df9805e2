import { temporal as proto } from '@temporalio/proto';
import type { QueryConfig } from 'pg';
import type { Logger } from 'pino';
import type { Database } from './database';
import type { ShardRouter } from './shards/router';
import { sqlPoolOf } from './sql-pool';
import type { TemporalClient } from './temporal';
import { withTimeout } from './timeout';

/**
 * Before a process takes work (the API listens, the worker polls): opens its PostgreSQL
 * connections and its Temporal client's connection, and reads the shard map, which the first
 * requests or activities would otherwise do, all at once. Measured with bench/platform.ts at 8
 * clients, the first eight order submissions took 470–700 ms while they opened the API's
 * connections (later ones: 40–130). With the connections open they still took 475–500 ms: the
 * first request to route a customer read the shard map, Prisma's first query, which loads and
 * compiles its query compiler while the event loop waits (270 ms before the route's first
 * statement), and the other seven waited behind it. The worker's first activities did the same
 * on the other core. The API's rehearsal of a submission (api/orders/submit-rehearsal.ts) then
 * runs the rest of the code that a first request would.
 * Best effort and bounded: a database or Temporal that is not there yet is the health check's
 * business (/health/ready), not a reason to refuse to start.
 */
export async function warmUp(
  deps: {
    db: Database;
    shards: Pick<ShardRouter, 'refresh'>;
    logger: Logger;
    /** A process that starts workflows (the API): its client connects, and its encoder is compiled. */
    temporal?: TemporalClient;
  },
  options: {
    connections: number;
    timeoutMs: number;
    /**
     * Read-only statements of the hot path, run once on every connection opened: each connection
     * prepares them, and its PostgreSQL backend loads the tables' catalogue entries, before a
     * request waits for it (the first orders' pricing took 56–139 ms instead of 1–2).
     */
    statements?: QueryConfig[];
    /**
     * A rehearsal of the process's hot path that has no effect (api/orders/submit-rehearsal.ts),
     * run once per connection, all at once as a burst of first requests would: its code runs for
     * the first time here, and the statements it prepares are prepared on most connections.
     */
    rehearsal?: () => Promise<void>;
  },
): Promise<void> {
  const started = performance.now();
  const pool = sqlPoolOf(deps.db);
  // Every connection it got goes back to the pool, even after a failure or the timeout.
  const openConnections = async (): Promise<void> => {
    const settled = await Promise.allSettled(Array.from({ length: options.connections }, () => pool.connect()));
    const clients = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    try {
      const statements = options.statements ?? [];
      await Promise.all(
        clients.map(async (client) => {
          await client.query('SELECT 1');
          for (const statement of statements) await client.query(statement);
        }),
      );
    } finally {
      for (const client of clients) client.release();
    }
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  };
  const connections = openConnections();
  const temporal = deps.temporal ? connectToStartWorkflows(deps.temporal) : undefined;
  // After the pool is open, so that the read takes one of its connections rather than one more.
  const shardMap = connections.catch(() => undefined).then(() => deps.shards.refresh());
  const { rehearsal } = options;
  const steps = {
    postgres: connections,
    ...(temporal ? { temporal } : {}),
    'shard map': shardMap,
    // Once everything it uses is there; a part that is not is reported as such, not as a failed rehearsal.
    ...(rehearsal
      ? {
          rehearsal: Promise.all([connections, temporal, shardMap]).then(
            () => Promise.all(Array.from({ length: options.connections }, rehearsal)),
            () => undefined,
          ),
        }
      : {}),
  };
  const outcomes = await Promise.allSettled(
    Object.values(steps).map((step) => withTimeout<unknown>(step, options.timeoutMs)),
  );
  const names = Object.keys(steps);
  const failures = outcomes.flatMap((outcome, i) =>
    outcome.status === 'rejected' ? [`${names[i]}: ${String(outcome.reason)}`] : [],
  );
  const ms = Math.round(performance.now() - started);
  if (failures.length > 0) deps.logger.info({ ms, failures }, 'warm-up incomplete; first requests connect');
  else deps.logger.info({ ms, connections: options.connections }, 'warmed up');
}

/**
 * Connects, and compiles the start request's encoder: protobufjs generates each message type's
 * encoder and decoder on its first use, 47 ms for the first StartWorkflowExecutionRequest on an
 * idle machine, paid by the first order otherwise.
 */
function connectToStartWorkflows(temporal: TemporalClient): Promise<void> {
  const { StartWorkflowExecutionRequest, StartWorkflowExecutionResponse } = proto.api.workflowservice.v1;
  const payload = { metadata: { encoding: new Uint8Array(1) }, data: new Uint8Array(1) };
  StartWorkflowExecutionRequest.decode(
    StartWorkflowExecutionRequest.encode({
      workflowType: { name: 'warm-up' },
      taskQueue: { name: 'warm-up' },
      input: { payloads: [payload] },
      memo: { fields: { warmUp: payload } },
      searchAttributes: { indexedFields: { warmUp: payload } },
      userMetadata: { summary: payload, details: payload },
    }).finish(),
  );
  StartWorkflowExecutionResponse.decode(StartWorkflowExecutionResponse.encode({ runId: 'warm-up' }).finish());
  return temporal.connection.ensureConnected();
}
