import { Client, Connection } from '@temporalio/client';
import type { Config } from './config';

export interface TemporalClient {
  client: Client;
  connection: Connection;
}

/**
 * A lazy connection: the API starts (and reports Temporal DOWN on /health/ready) even while
 * Temporal is still starting; the first call connects.
 */
export function createTemporalClient(config: Pick<Config, 'temporal'>): TemporalClient {
  const connection = Connection.lazy({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return { client, connection };
}

/** Whether a Temporal frontend answers at the address, within the timeout: for start-up checks. */
export async function isTemporalAnswering(address: string, timeoutMs = 2_000): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    await connection.withDeadline(Date.now() + timeoutMs, () => connection!.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
