import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Command } from 'commander';
import { loadConfigOrExit } from '../../platform/config';
import { withClient } from '../connection';
import { historiesFromQuery, historyFromServer, UsageError, type NamedHistory } from '../history-sources';
import { progressBar } from '../../platform/command-line';
import { printJson } from '../output';
import { historyKeysCommand } from './history-keys';

interface ExportOptions {
  workflowId?: string;
  runId?: string;
  query?: string;
  out: string;
  json: boolean;
}

/**
 * Saves histories from the server as JSON files: the format of `temporal workflow show --output
 * json` and the Web UI's download, which `shopflow replay --dir` and test/histories/ read. Payloads
 * stay as the server holds them (encrypted), so an exported file is as safe to share as the server.
 */
export function historyCommand(): Command {
  const history = new Command('history').description('Work with workflow histories: export them, tell their keys.');
  history.addCommand(historyKeysCommand());
  history.addCommand(
    new Command('export')
      .description('Save histories (one execution, or every match of a visibility query) as JSON files.')
      .option('--workflow-id <id>', 'one execution')
      .option('--run-id <id>', 'with --workflow-id: that run (default: the latest)')
      .option('--query <visibility query>', 'every matching execution')
      .requiredOption('--out <dir>', 'folder to write <workflow-id>.json files into (created if missing)')
      .option('--json', 'print what was written as JSON', false)
      .addHelpText(
        'after',
        '\nExample:\n  shopflow history export --query \'OrderStatus="FAILED"\' --out ./failed-orders',
      )
      .action(async (options: ExportOptions) => {
        if ((options.workflowId === undefined) === (options.query === undefined)) {
          throw new UsageError('give exactly one of --workflow-id or --query');
        }
        if (options.runId && !options.workflowId) throw new UsageError('--run-id needs --workflow-id');
        const histories = await withClient(loadConfigOrExit(), async (client): Promise<NamedHistory[]> => {
          if (options.workflowId) return [await historyFromServer(client, options.workflowId, options.runId)];
          return historiesFromQuery(client, options.query!);
        });
        await mkdir(options.out, { recursive: true });
        const bar = progressBar({ enabled: !options.json });
        bar.show('exporting', 0, histories.length);
        const written: string[] = [];
        for (const named of histories) {
          const file = path.join(options.out, `${safeFileName(named.workflowId)}.json`);
          await writeFile(file, historyToJSON(named.history));
          written.push(file);
          bar.tick();
        }
        bar.stop();
        if (options.json) printJson({ exported: written.length, files: written });
        else
          process.stdout.write(
            `exported ${written.length} histor${written.length === 1 ? 'y' : 'ies'} to ${options.out}\n`,
          );
      }),
  );
  return history;
}

function safeFileName(workflowId: string): string {
  return workflowId.replace(/[^A-Za-z0-9._-]/g, '_');
}
