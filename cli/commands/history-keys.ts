import { Command } from 'commander';
import { loadConfigOrExit } from '../../platform/config';
import { loadHistories, withHistorySourceOptions, type HistorySourceOptions } from '../history-sources';
import { printJson } from '../output';
import { payloadKeyUse } from '../payload-keys';

interface KeysOptions extends HistorySourceOptions {
  json: boolean;
}

/**
 * `shopflow history keys`: which payload encryption keys each history uses (cli/payload-keys.ts),
 * and whether this environment's PAYLOAD_KEYS holds them. Exit code 1 when a history uses a key
 * that is not configured here: it cannot be decoded or replayed with these keys.
 */
export function historyKeysCommand(): Command {
  return withHistorySourceOptions(new Command('keys'))
    .description(
      'Tell which encryption key ids the payloads of each history use, and whether PAYLOAD_KEYS holds them.\n' +
        'Exit code 0 when every key is configured, 1 when a history uses one that is not, 2 on a usage error.',
    )
    .option('--json', 'print the answer as JSON', false)
    .addHelpText(
      'after',
      '\nExamples:\n  shopflow history keys --workflow-id order-… \n  shopflow history keys --dir ./exported --json\n' +
        '\nBefore removing a key from PAYLOAD_KEYS, check that no history you keep still names it.',
    )
    .action(async (options: KeysOptions) => {
      const configured = new Set(loadConfigOrExit().payloads.keys.keys());
      const histories = await loadHistories(options);
      const rows = histories.map(({ workflowId, runId, file, history }) => {
        const use = payloadKeyUse(history);
        return {
          workflowId,
          runId,
          ...(file ? { file } : {}),
          keyIds: use.byKeyId,
          unencrypted: use.unencrypted,
          missingKeyIds: Object.keys(use.byKeyId).filter((id) => !configured.has(id)),
        };
      });
      const inUse = [...new Set(rows.flatMap((row) => Object.keys(row.keyIds)))].sort();
      const missing = inUse.filter((id) => !configured.has(id));
      if (options.json) {
        printJson({ histories: rows, keyIdsInUse: inUse, notConfigured: missing });
      } else {
        for (const row of rows) {
          const keys = Object.entries(row.keyIds)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([id, n]) => `${id} ×${n}${configured.has(id) ? '' : ' (not configured)'}`);
          process.stdout.write(
            `${row.workflowId} run ${row.runId || '?'}: ${keys.join(', ') || 'no encrypted payloads'}` +
              `${row.unencrypted > 0 ? `; not encrypted ×${row.unencrypted}` : ''}\n`,
          );
        }
        process.stdout.write(
          missing.length > 0
            ? `key ids not in PAYLOAD_KEYS: ${missing.join(', ')}: those histories cannot be decoded or replayed here\n`
            : `every key id in use (${inUse.join(', ') || 'none'}) is in PAYLOAD_KEYS\n`,
        );
      }
      process.exitCode = missing.length > 0 ? 1 : 0;
    });
}
