import { Command } from 'commander';
import { loadConfigOrExit } from '../../platform/config';
import { ensureDashboardSchedule, type DashboardScheduleResult } from '../../read-models/seller-dashboard/schedule';
import { registerSearchAttributes } from '../../platform/temporal-namespace';
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
        ...(await registerSearchAttributes(client, config.temporal.namespace, shopflowSearchAttributes)),
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
