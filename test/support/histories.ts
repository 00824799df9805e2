import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import { requiredEnv } from './platform';

/**
 * Recorded workflow histories under test/histories guard every change to workflows/: the replay
 * test runs each through the current code. They are recorded once from a real run
 * (`RECORD_HISTORIES=1 npm run test:integration`) and then kept: a recording is a promise that
 * executions started by an older version still complete.
 */
export const historiesDir = path.resolve(__dirname, '..', 'histories');

/** Saves a finished workflow's history as `<name>.json` when recording is switched on. */
export function recordHistory(workflowId: string, name: string): void {
  if (process.env['RECORD_HISTORIES'] !== '1') return;
  // The CLI writes the format every Temporal tool reads (the Web UI's download is the same).
  const json = execFileSync(
    requiredEnv('SHOPFLOW_TEST_TEMPORAL_CLI'),
    ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', requiredEnv('TEMPORAL_ADDRESS')],
    { encoding: 'utf8' },
  );
  mkdirSync(historiesDir, { recursive: true });
  writeFileSync(path.join(historiesDir, `${name}.json`), json);
}

export function loadRecordedHistories(dir = historiesDir): { name: string; history: History }[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({
      name: file.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8'))),
    }));
}
