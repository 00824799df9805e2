import { defaultPayloadConverter, type DataConverter } from '@temporalio/common';
import { Command } from 'commander';
import { loadConfigOrExit } from '../../platform/config';
import { withClient } from '../connection';
import { historyFromServer, readHistoryFile, UsageError, type NamedHistory } from '../history-sources';
import { printJson } from '../output';
import { renderTimeline } from '../saga-render';
import { sagaTimeline, type PayloadDecoder } from '../saga-timeline';
import { cliDataConverter } from '../shared-options';

interface InspectOptions {
  file?: string;
  runId?: string;
  json: boolean;
}

export function sagaCommand(): Command {
  const saga = new Command('saga').description("Look into orders' sagas.");
  saga.addCommand(
    new Command('inspect')
      .description(
        "Print a readable timeline of one order's saga from its history: steps with attempts, durations\n" +
          'and errors, compensations, signals, updates and the outcome. Works offline on a history file.',
      )
      .argument('[workflow-id]', 'the order workflow, fetched from the server (e.g. order-<orderId>)')
      .option('--file <path>', 'a JSON history instead of the server (e.g. attached to a bug report)')
      .option('--run-id <id>', 'with a workflow id: that run (default: the latest)')
      .option('--json', 'print the timeline as JSON', false)
      .action(async (workflowId: string | undefined, options: InspectOptions) => {
        if ((workflowId === undefined) === (options.file === undefined)) {
          throw new UsageError('give a workflow id or --file, not both');
        }
        const named: NamedHistory = options.file
          ? await readHistoryFile(options.file)
          : await withClient(loadConfigOrExit(), (client) => historyFromServer(client, workflowId!, options.runId));
        const timeline = await sagaTimeline(named.history, payloadDecoder(cliDataConverter()));
        if (options.json) printJson({ workflowId: named.workflowId, ...timeline });
        else process.stdout.write(renderTimeline(named.workflowId, timeline));
      }),
  );
  return saga;
}

/** Decodes through the payload codec (if any), then to plain values; an undecodable payload is named as such. */
function payloadDecoder(converter: DataConverter | undefined): PayloadDecoder {
  return async (payloads) => {
    let decoded = payloads;
    for (const codec of [...(converter?.payloadCodecs ?? [])].reverse()) decoded = await codec.decode(decoded);
    return decoded.map((payload) => {
      try {
        return defaultPayloadConverter.fromPayload(payload);
      } catch {
        return '<undecodable payload>';
      }
    });
  };
}
