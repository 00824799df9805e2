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
