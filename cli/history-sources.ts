import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import type { Command } from 'commander';
import { loadConfigOrExit } from '../platform/config';
import { withClient } from './connection';

/**
 * Where histories come from: JSON files (the format of `temporal workflow show --output json`,
 * the Web UI's download, `shopflow history export` and test/histories/) or the server (one
 * execution by id, or every execution a visibility query matches).
 */
export interface NamedHistory {
  workflowId: string;
  runId: string;
  history: History;
  /** The file it came from, when it came from one. */
  file?: string;
}

export class UsageError extends Error {}

export async function historyFiles(files: string[], dirs: string[]): Promise<string[]> {
  const found = [...files];
  for (const dir of dirs) {
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) throw new UsageError(`--dir ${dir} is not a directory`);
    const names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
    found.push(...names.map((name) => path.join(dir, name)));
  }
  return found;
}

export async function readHistoryFile(file: string): Promise<NamedHistory> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  let history: History;
  try {
    history = historyFromJSON(JSON.parse(text));
  } catch (error) {
    throw new UsageError(
      `${file} is not a workflow history in JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // The started event records the workflow id; a history from a server that did not record it is
  // named after its file, the best name left.
  const workflowId =
    history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId || path.basename(file, '.json');
  return { workflowId, runId: firstRunId(history), history, file };
}

export async function historyFromServer(client: Client, workflowId: string, runId?: string): Promise<NamedHistory> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return { workflowId, runId: firstRunId(history), history };
}

export async function historiesFromQuery(client: Client, query: string): Promise<NamedHistory[]> {
  const found: NamedHistory[] = [];
  for await (const { workflowId, history } of client.workflow.list({ query }).intoHistories({ concurrency: 5 })) {
    found.push({ workflowId, runId: firstRunId(history as History), history: history as History });
  }
  return found;
}

function firstRunId(history: History): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.originalExecutionRunId ?? '';
}

/** Where a command takes its histories from: one execution, a visibility query, or files. */
export interface HistorySourceOptions {
  workflowId?: string;
  runId?: string;
  query?: string;
  file: string[];
  dir: string[];
}

/** The options of HistorySourceOptions, as every command that reads histories spells them. */
export function withHistorySourceOptions(command: Command): Command {
  const collect = (value: string, previous: string[]): string[] => [...previous, value];
  return command
    .option('--workflow-id <id>', 'one execution, fetched from the server')
    .option('--run-id <id>', 'with --workflow-id: that run (default: the latest)')
    .option(
      '--query <visibility query>',
      'every execution matching a visibility query, e.g. \'WorkflowType="orderWorkflow"\'',
    )
    .option('--file <path>', 'a JSON history (repeatable)', collect, [])
    .option('--dir <path>', 'every *.json history in a folder (repeatable)', collect, []);
}

/** The histories the options name; a UsageError for no source, two sources, or nothing found. */
export async function loadHistories(options: HistorySourceOptions): Promise<NamedHistory[]> {
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
