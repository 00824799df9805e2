import { Client, Connection } from '@temporalio/client';
import type { Config } from '../platform/config';
import { createDataConverter } from '../platform/data-converter';

/**
 * A Temporal client for one CLI command, closed when the command is done. It decodes with the
 * worker's payload codec: listing executions decodes their memo, which the API encrypts.
 */
export async function withClient<T>(
  config: Pick<Config, 'temporal' | 'payloads'>,
  use: (client: Client) => Promise<T>,
): Promise<T> {
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: 5_000 }).catch(
    (error: unknown) => {
      throw new Error(
        `cannot reach Temporal at ${config.temporal.address} (${error instanceof Error ? error.message : String(error)}); ` +
          'set TEMPORAL_ADDRESS or start it with `npm start`',
      );
    },
  );
  try {
    return await use(
      new Client({ connection, namespace: config.temporal.namespace, dataConverter: createDataConverter(config) }),
    );
  } finally {
    await connection.close();
  }
}
