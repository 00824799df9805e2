import path from 'node:path';
import { Command, Option } from 'commander';
import { loadHistories, withHistorySourceOptions, type HistorySourceOptions } from '../history-sources';
import { positiveInt, progressBar } from '../../platform/command-line';
import { printJson } from '../output';
import { replayAll, type ReplayOutcome } from '../replayer';
import { cliDataConverter, workflowsPathOption } from '../shared-options';

interface ReplayCommandOptions extends HistorySourceOptions {
  concurrency: number;
  workflowsPath: string;
  json: boolean;
}

export function replayCommand(): Command {
  return withHistorySourceOptions(new Command('replay'))
    .description(
      'Replay workflow histories against the workflow code in this working tree, to prove it is still\n' +
        'deterministic. Exit code 0 when every history replays, 1 when one does not, 2 on a usage error.',
    )
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
