import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from './config';
import { createDataConverter } from './data-converter';

export interface TemporalClient {
  client: Client;
  connection: Connection;
  /**
   * For health checks only: no retry interceptor, so a check against a Temporal that is away
   * fails at once instead of retrying in the background after the caller gave up.
   */
  healthConnection: Connection;
  close(): Promise<void>;
}

/**
 * A lazy connection: the API starts (and reports Temporal DOWN on /health/ready) even while
 * Temporal is still starting; the first call connects.
 */
export function createTemporalClient(config: Pick<Config, 'temporal' | 'payloads'>): TemporalClient {
  const connection = Connection.lazy({ address: config.temporal.address });
  const healthConnection = Connection.lazy({ address: config.temporal.address, interceptors: [] });
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: createDataConverter(config),
  });
  return {
    client,
    connection,
    healthConnection,
    async close() {
      await Promise.all([connection.close(), healthConnection.close()]);
    },
  };
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

/** Whether some worker polls the task queue for workflow tasks: a worker is up and connected. */
export async function hasWorkflowPollers(config: Pick<Config, 'temporal'>, timeoutMs = 2_000): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout: timeoutMs });
    const { pollers } = await connection.withDeadline(Date.now() + timeoutMs, () =>
      connection!.workflowService.describeTaskQueue({
        namespace: config.temporal.namespace,
        taskQueue: { name: config.temporal.taskQueue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      }),
    );
    return (pollers?.length ?? 0) > 0;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
