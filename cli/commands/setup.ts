import { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { temporal } from '@temporalio/proto';
import { loadConfigOrExit } from '../../platform/config';
import { ensureDashboardSchedule, type DashboardScheduleResult } from '../../read-models/seller-dashboard/schedule';
import { shopflowSearchAttributes } from '../../workflows/orders/search-attributes';
import { withClient } from '../connection';
import { printJson } from '../output';

/**
 * Prepares a Temporal cluster for shopflow: registers the custom search attributes operators
 * filter orders by, and creates (or brings up to date) the seller dashboards' recalculation
 * Schedule. Idempotent: what is there is left alone; a name registered with another type is an
 * error to fix by hand (Temporal cannot change a search attribute's type).
 */
export function setupCommand(): Command {
  return new Command('setup')
    .description(
      "Register shopflow's search attributes (OrderStatus, CustomerId, ...) and the seller dashboard\n" +
        'recalculation Schedule (every DASHBOARD_RECALC_INTERVAL_MS) on the Temporal cluster at\n' +
        'TEMPORAL_ADDRESS, namespace TEMPORAL_NAMESPACE. Safe to run again.',
    )
    .option('--json', 'print what was done as JSON', false)
    .action(async (options: { json: boolean }) => {
      const config = loadConfigOrExit();
      const outcome = await withClient(config, async (client) => ({
        ...(await registerSearchAttributes(client, config.temporal.namespace)),
        schedule: await ensureDashboardSchedule(client, config),
      }));
      if (options.json) printJson(outcome);
      else {
        process.stdout.write(
          `search attributes on ${config.temporal.address} (${config.temporal.namespace}): ` +
            `${outcome.added.length} added${outcome.added.length ? ` (${outcome.added.join(', ')})` : ''}, ` +
            `${outcome.present.length} already registered\n` +
            `${describeSchedule(outcome.schedule)}\n`,
        );
      }
    });
}

function describeSchedule({ scheduleId, intervalMs, outcome }: DashboardScheduleResult): string {
  return `schedule ${scheduleId} (every ${intervalMs} ms): ${outcome}`;
}

export async function registerSearchAttributes(
  client: Client,
  namespace: string,
): Promise<{ added: string[]; present: string[] }> {
  const operator = client.connection.operatorService;
  const { customAttributes } = await operator.listSearchAttributes({ namespace });
  const existing = new Map(Object.entries(customAttributes ?? {}).map(([name, type]) => [name, typeName(type)]));
  const wrongType = shopflowSearchAttributes.filter(
    (key) => existing.has(key.name) && existing.get(key.name) !== key.type,
  );
  if (wrongType.length > 0) {
    throw new Error(
      wrongType
        .map((key) => `${key.name} is registered as ${existing.get(key.name)}, shopflow needs ${key.type}`)
        .join('; '),
    );
  }
  const missing = shopflowSearchAttributes.filter((key) => !existing.has(key.name));
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
    present: shopflowSearchAttributes.filter((k) => existing.has(k.name)).map((k) => k.name),
  };
}

/** INDEXED_VALUE_TYPE_KEYWORD_LIST -> KEYWORD_LIST, the SDK's name for it. */
function typeName(type: temporal.api.enums.v1.IndexedValueType): string {
  return (temporal.api.enums.v1.IndexedValueType[type] ?? 'UNSPECIFIED').replace(/^INDEXED_VALUE_TYPE_/, '');
}
