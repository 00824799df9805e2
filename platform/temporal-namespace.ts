import { NamespaceNotFoundError, type Client } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { SearchAttributeKey, SearchAttributeType } from '@temporalio/common/lib/search-attributes';

/**
 * What a Temporal cluster needs before shopflow runs on it: its namespace, and the custom search
 * attributes operators filter orders by (workflows/orders/search-attributes.ts). The dev server
 * gets both on its command line (dev/temporal-dev-server.ts); a cluster through these, from
 * `shopflow setup` and `npm run cluster` (dev/temporal-cluster.ts).
 */

/** Workflows' histories are kept this long after they close. */
const RETENTION = '3 days';

/** Registers the namespace unless it exists; true when it registered it. */
export async function ensureNamespace(client: Client, namespace: string): Promise<boolean> {
  const service = client.connection.workflowService;
  try {
    await service.describeNamespace({ namespace });
    return false;
  } catch (error) {
    // The raw service call answers NOT_FOUND (gRPC code 5); the SDK's own error when it maps it.
    const notFound = error instanceof NamespaceNotFoundError || (error as { code?: number }).code === 5;
    if (!notFound) throw error;
  }
  await service.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(RETENTION) });
  return true;
}

/** Registers the attributes the namespace lacks; one registered with another type is an error. */
export async function registerSearchAttributes(
  client: Client,
  namespace: string,
  keys: readonly SearchAttributeKey<SearchAttributeType>[],
): Promise<{ added: string[]; present: string[] }> {
  const operator = client.connection.operatorService;
  const { customAttributes } = await operator.listSearchAttributes({ namespace });
  const existing = new Map(Object.entries(customAttributes ?? {}).map(([name, type]) => [name, typeName(type)]));
  const wrongType = keys.filter((key) => existing.has(key.name) && existing.get(key.name) !== key.type);
  if (wrongType.length > 0) {
    throw new Error(
      wrongType
        .map((key) => `${key.name} is registered as ${existing.get(key.name)}, shopflow needs ${key.type}`)
        .join('; '),
    );
  }
  const missing = keys.filter((key) => !existing.has(key.name));
  if (missing.length > 0) {
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!]),
      ),
    });
  }
  return {
    added: missing.map((key) => key.name),
    present: keys.filter((k) => existing.has(k.name)).map((k) => k.name),
  };
}

/** INDEXED_VALUE_TYPE_KEYWORD_LIST -> KEYWORD_LIST, the SDK's name for it. */
function typeName(type: temporal.api.enums.v1.IndexedValueType): string {
  return (temporal.api.enums.v1.IndexedValueType[type] ?? 'UNSPECIFIED').replace(/^INDEXED_VALUE_TYPE_/, '');
}
