import path from 'node:path';
import { Command, Option } from 'commander';
import { loadConfigOrExit } from '../../platform/config';
import { withClient } from '../connection';
import {
  historiesFromQuery,
  historyFiles,
  historyFromServer,
  readHistoryFile,
  UsageError,
  type NamedHistory,
} from '../history-sources';
import { positiveInt, progressBar } from '../../platform/command-line';
import { printJson } from '../output';
import { replayAll, type ReplayOutcome } from '../replayer';
import { cliDataConverter, workflowsPathOption } from '../shared-options';

interface ReplayCommandOptions {
  workflowId?: string;
  runId?: string;
  query?: string;
  file: string[];
  dir: string[];
  concurrency: number;
  workflowsPath: string;
  json: boolean;
}

export function replayCommand(): Command {
  return new Command('replay')
    .description(
      'Replay workflow histories against the workflow code in this working tree, to prove it is still\n' +
        'deterministic. Exit code 0 when every history replays, 1 when one does not, 2 on a usage error.',
    )
    .option('--workflow-id <id>', 'one execution, fetched from the server')
    .option('--run-id <id>', 'with --workflow-id: that run (default: the latest)')
    .option(
      '--query <visibility query>',
      'every execution matching a visibility query, e.g. \'WorkflowType="orderWorkflow"\'',
    )
    .option('--file <path>', 'a JSON history (repeatable)', collect, [])
    .option('--dir <path>', 'every *.json history in a folder (repeatable)', collect, [])
    .addOption(
      new Option('--concurrency <n>', 'histories replayed at once').argParser(positiveInt('--concurrency')).default(2),
    )
    .addOption(workflowsPathOption())
    .option('--json', 'print the outcome as JSON', false)
    .addHelpText(
      'after',
      '\nExamples:\n  shopflow replay --dir test/histories\n  shopflow replay --query \'WorkflowType="orderWorkflow" AND CloseTime > "2026-11-24T00:00:00Z"\'',
    )
    .action(async (options: ReplayCommandOptions) => {
      const histories = await loadHistories(options);
      const startedAt = performance.now();
      const bar = progressBar({ enabled: !options.json });
      bar.show('replaying', 0, histories.length);
      const outcomes = await replayAll(histories, {
        workflowsPath: options.workflowsPath,
        concurrency: options.concurrency,
        dataConverter: cliDataConverter(),
        onResult: bar.tick,
      });
      bar.stop();
      const seconds = (performance.now() - startedAt) / 1000;
      const failed = outcomes.filter((o) => !o.ok);
      if (options.json) {
        printJson({
          replayed: outcomes.length,
          failed: failed.length,
          seconds: Number(seconds.toFixed(3)),
          failures: failed,
        });
      } else {
        for (const failure of failed) process.stdout.write(describeFailure(failure));
        process.stdout.write(
          `replayed ${outcomes.length} histor${outcomes.length === 1 ? 'y' : 'ies'}: ` +
            `${outcomes.length - failed.length} ok, ${failed.length} failed, in ${seconds.toFixed(2)} s\n`,
        );
      }
      process.exitCode = failed.length > 0 ? 1 : 0;
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function loadHistories(options: ReplayCommandOptions): Promise<NamedHistory[]> {
  const fromFiles = options.file.length > 0 || options.dir.length > 0;
  const sources = [options.workflowId !== undefined, options.query !== undefined, fromFiles].filter(Boolean).length;
  if (sources !== 1) throw new UsageError('give exactly one source: --workflow-id, --query, or --file/--dir');
  if (options.runId && !options.workflowId) throw new UsageError('--run-id needs --workflow-id');
  if (fromFiles) {
    const files = await historyFiles(options.file, options.dir);
    if (files.length === 0) throw new UsageError('no *.json histories found');
    return Promise.all(files.map(readHistoryFile));
  }
  const config = loadConfigOrExit();
  return withClient(config, async (client) => {
    if (options.workflowId) return [await historyFromServer(client, options.workflowId, options.runId)];
    const found = await historiesFromQuery(client, options.query!);
    if (found.length === 0) throw new UsageError(`no executions match ${options.query}`);
    return found;
  });
}

/** One failure, in plain words: which execution, where it diverged, what the code did instead. */
export function describeFailure(failure: ReplayOutcome): string {
  const where = failure.divergence?.eventId
    ? `at event ${failure.divergence.eventId} (${failure.divergence.eventType})`
    : 'at an event that could not be pinned down';
  const source = failure.file ? ` from ${path.relative(process.cwd(), failure.file)}` : '';
  return (
    `FAILED ${failure.workflowId} run ${failure.runId || '?'}${source}\n` +
    `  diverged ${where}: ${failure.divergence?.explanation ?? failure.error ?? 'unknown error'}\n`
  );
}
