import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import { progressBar } from '../../platform/command-line';
import { loadConfigOrExit, type Config } from '../../platform/config';
import { createDatabase } from '../../platform/database';
import { databaseName } from '../../platform/postgres-admin';
import { planRebalance, ShardUnreachableError, type RebalancePlan } from '../../platform/shards/rebalance-plan';
import { createShardRouter } from '../../platform/shards/router';
import {
  rebalanceProgressQuery,
  rebalanceSummary,
  rebalanceWorkflowId,
  type RebalanceInput,
  type RebalanceResult,
} from '../../workflows/rebalance/rebalance-contract';
import { withClient } from '../connection';
import { UsageError } from '../history-sources';
import { printJson } from '../output';

/**
 * `shopflow shards rebalance [--dry-run]`: which customers the ring now places elsewhere, and (not
 * dry) the rebalance workflow that moves them one at a time, followed on a progress bar fed by
 * its progress query. One rebalance per shard map: a second is refused while one runs.
 */
export function rebalanceCommand(): Command {
  return new Command('rebalance')
    .description(
      'Move every customer whose rows are not on the shard the ring (ACTIVE and JOINING shards) gives them, one at a ' +
        'time, and make JOINING shards ACTIVE; a Temporal workflow, followed here on a progress bar. --dry-run lists the ' +
        'moves and changes nothing. Refused with exit code 2, changing nothing, when a shard does not answer or a ' +
        'rebalance is already running.',
    )
    .option('--dry-run', 'list the customers that would move, and the shards that would become ACTIVE', false)
    .option(
      '--fence-settle-ms <ms>',
      'wait after fencing a key before copying it: at least every router’s map staleness (default: twice SHARD_MAP_MAX_STALENESS_MS)',
      parseMs,
    )
    .option('--no-wait', 'start the workflow and return without following it')
    .option('--json', 'print as JSON', false)
    .action(async (options: { dryRun: boolean; fenceSettleMs?: number; wait: boolean; json: boolean }) => {
      const config = loadConfigOrExit();
      // Routers that cannot listen check the map this often: twice that covers one that just checked.
      const fenceSettleMs = options.fenceSettleMs ?? 2 * config.shards.mapMaxStalenessMs;
      const plan = await planNow(config);
      if (options.dryRun) {
        printPlan(plan, options.json);
        return;
      }
      if (plan.moves.length === 0 && plan.activate.length === 0) {
        if (options.json) printJson({ started: false, plan });
        else process.stdout.write('nothing to rebalance: every customer is on the shard the ring gives them\n');
        return;
      }
      await withClient(config, async (client) => {
        const workflowId = rebalanceWorkflowId(databaseName(config.database.url));
        const handle = await start(client, config, workflowId, plan, { fenceSettleMs });
        if (!options.wait) {
          process.stdout.write(`started rebalance ${workflowId}: ${plan.moves.length} customers to move\n`);
          return;
        }
        const result = await follow(handle, options.json);
        if (options.json) printJson(result);
        else process.stdout.write(describeResult(result));
        if (result.failed.length > 0) process.exitCode = 1;
      });
    });
}

function parseMs(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number of milliseconds');
  return Number(value);
}

async function planNow(config: Config): Promise<RebalancePlan> {
  const catalogue = createDatabase(config);
  const router = createShardRouter({ catalogue, database: config.database });
  try {
    return await planRebalance(catalogue, router);
  } catch (error) {
    throw error instanceof ShardUnreachableError ? new UsageError(error.message) : error;
  } finally {
    await router.close();
    await catalogue.$disconnect();
  }
}

function printPlan(plan: RebalancePlan, json: boolean): void {
  if (json) {
    printJson(plan);
    return;
  }
  for (const move of plan.moves)
    process.stdout.write(`${move.partitionKey}  ${move.sourceShardId} -> ${move.targetShardId}\n`);
  const activate = plan.activate.length > 0 ? `; would make ${plan.activate.join(', ')} ACTIVE` : '';
  process.stdout.write(`dry run: ${plan.moves.length} customers would move${activate}; nothing changed\n`);
  for (const conflict of plan.conflicts)
    process.stderr.write(`shopflow: ${conflict.partitionKey} is on ${conflict.shardIds.join(' and ')}: left alone\n`);
}

async function start(client: Client, config: Config, workflowId: string, plan: RebalancePlan, input: RebalanceInput) {
  try {
    return await client.workflow.start('rebalanceWorkflow', {
      workflowId,
      taskQueue: config.temporal.taskQueue,
      args: [{ ...input, requestedBy: 'shopflow shards rebalance' }],
      // The id is the shard map's: a finished rebalance may be followed by another, never two at once.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
      staticSummary: rebalanceSummary({ keysToMove: plan.moves.length, activate: plan.activate }),
      staticDetails: plan.moves.map((m) => `${m.partitionKey}: ${m.sourceShardId} -> ${m.targetShardId}`).join('\n'),
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      throw new UsageError(`a rebalance is already running (workflow ${workflowId}); wait for it to finish`);
    throw error;
  }
}

/** Polls the workflow's progress onto the bar until it ends. */
async function follow(handle: Awaited<ReturnType<typeof start>>, json: boolean): Promise<RebalanceResult> {
  const bar = progressBar({ enabled: !json, unit: ' customers' });
  let done = false;
  const result = handle.result().finally(() => (done = true)) as Promise<RebalanceResult>;
  try {
    while (!done) {
      const progress = await handle.query(rebalanceProgressQuery).catch(() => undefined);
      if (progress) bar.show(progress.phase, progress.moved + progress.failed.length, progress.total);
      await Promise.race([result, new Promise((resolve) => setTimeout(resolve, 500))]);
    }
    return await result;
  } finally {
    bar.stop();
  }
}

function describeResult(result: RebalanceResult): string {
  const activated = result.activated.length > 0 ? `; ${result.activated.join(', ')} ACTIVE` : '';
  const lines = [`rebalanced: ${result.moved} of ${result.total} customers moved${activated}\n`];
  for (const failed of result.failed) lines.push(`given up: ${failed.partitionKey}: ${failed.reason}\n`);
  return lines.join('');
}
