import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfigOrExit } from '../platform/config';
import { createDataConverter } from '../platform/data-converter';
import { installTemporalRuntimeLogger } from '../platform/temporal-logger';
import pino from 'pino';
import { round } from './support/load';
import { writeResults } from './support/results';

/**
 * Question: how many histories per second does `shopflow replay` replay, and what does the CLI
 * cost on top of the SDK? The recorded set (test/histories) is copied until there are at least
 * `--histories` files; the baseline is `Worker.runReplayHistories` called directly on the same
 * histories in this process. Both include building the workflow bundle; the CLI also pays for
 * starting its process and reading the files. Median of `--runs` runs each, alternated.
 */
const repoRoot = path.resolve(__dirname, '..');
const workflowsPath = path.join(repoRoot, 'workflows', 'index.ts');

function positive(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
    return n;
  };
}

async function main(options: { histories: number; runs: number; concurrency: number }): Promise<void> {
  installTemporalRuntimeLogger(pino({ level: 'error' }));
  const source = path.join(repoRoot, 'test', 'histories');
  const recorded = readdirSync(source).filter((f) => f.endsWith('.json'));
  const dir = mkdtempSync(path.join(tmpdir(), 'shopflow-bench-replay-'));
  try {
    const copies = Math.ceil(options.histories / recorded.length);
    for (let copy = 0; copy < copies; copy++) {
      for (const file of recorded) copyFileSync(path.join(source, file), path.join(dir, `${copy}-${file}`));
    }
    const files = readdirSync(dir);
    const dataConverter = createDataConverter(loadConfigOrExit());

    const baselineSeconds: number[] = [];
    const cliSeconds: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      baselineSeconds.push(await timeBaseline(dir, files, dataConverter));
      cliSeconds.push(timeCli(dir, options.concurrency));
      process.stderr.write(
        `run ${run + 1}/${options.runs}: baseline ${baselineSeconds.at(-1)!.toFixed(2)} s, cli ${cliSeconds.at(-1)!.toFixed(2)} s\n`,
      );
    }
    const baseline = median(baselineSeconds);
    const cli = median(cliSeconds);
    const file = writeResults('replay', {
      histories: files.length,
      runs: options.runs,
      cli_concurrency: options.concurrency,
      baseline_histories_per_s: round(files.length / baseline, 1),
      cli_histories_per_s: round(files.length / cli, 1),
      baseline_median_s: round(baseline),
      cli_median_s: round(cli),
      cli_time_ratio_vs_baseline: round(cli / baseline),
    });
    process.stderr.write(`written ${file}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timeBaseline(
  dir: string,
  files: string[],
  dataConverter: ReturnType<typeof createDataConverter>,
): Promise<number> {
  const startedAt = performance.now();
  const histories = files.map((file) => ({
    workflowId: file,
    history: historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8'))),
  }));
  let failed = 0;
  for await (const result of Worker.runReplayHistories({ workflowsPath, dataConverter }, histories)) {
    if (result.error) failed += 1;
  }
  if (failed > 0) throw new Error(`${failed} histories failed to replay in the baseline`);
  return (performance.now() - startedAt) / 1000;
}

function timeCli(dir: string, concurrency: number): number {
  const startedAt = performance.now();
  const run = spawnSync(
    process.execPath,
    [path.join(repoRoot, 'cli', 'bin.js'), 'replay', '--dir', dir, '--concurrency', String(concurrency)],
    {
      encoding: 'utf8',
      env: { ...process.env, LOG_LEVEL: 'error' },
    },
  );
  if (run.status !== 0) throw new Error(`shopflow replay exited ${run.status}: ${run.stderr || run.stdout}`);
  return (performance.now() - startedAt) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

new Command('bench:replay')
  .description('Histories replayed per second by `shopflow replay`, against Worker.runReplayHistories on the same set.')
  .option('--histories <n>', 'at least this many histories (copies of test/histories)', positive('--histories'), 1000)
  .option('--runs <n>', 'runs of each, the median is reported', positive('--runs'), 3)
  .option('--concurrency <n>', "the CLI's --concurrency", positive('--concurrency'), 2)
  .action((options: { histories: number; runs: number; concurrency: number }) => main(options))
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .parseAsync()
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    process.stderr.write(`bench:replay: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
