import { Command, CommanderError } from 'commander';
import { installTemporalRuntimeLogger } from '../platform/temporal-logger';
import pino from 'pino';
import { apiKeyCommand } from './commands/apikey';
import { historyCommand } from './commands/history-export';
import { outboxCommand } from './commands/outbox';
import { projectionsCommand } from './commands/projections';
import { replayCommand } from './commands/replay';
import { sagaCommand } from './commands/saga-inspect';
import { setupCommand } from './commands/setup';
import { shardsCommand } from './commands/shards';
import { UsageError } from './history-sources';

/**
 * `shopflow`: the operators' and developers' command line. Exit codes: 0 done, 1 a check failed
 * (e.g. a history did not replay), 2 a usage error. Errors are one line on stderr.
 */
const EXIT_USAGE = 2;

export function program(): Command {
  const root = new Command('shopflow')
    .description(
      'Operate and debug shopflow: replay histories, export them, inspect sagas, set up a cluster, rebuild read models, manage API keys and shards.',
    )
    .showSuggestionAfterError()
    .exitOverride();
  root.addCommand(replayCommand());
  root.addCommand(historyCommand());
  root.addCommand(sagaCommand());
  root.addCommand(setupCommand());
  root.addCommand(outboxCommand());
  root.addCommand(projectionsCommand());
  root.addCommand(apiKeyCommand());
  root.addCommand(shardsCommand());
  exitOverrideEverywhere(root);
  return root;
}

/** Commander exits by itself on bad usage; we want one line and exit code 2 from every command. */
function exitOverrideEverywhere(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) exitOverrideEverywhere(sub);
}

async function main(argv: string[]): Promise<void> {
  // `shopflow … | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
  });
  // The SDK core logs replay failures itself; the command reports them, so keep its logs quiet.
  installTemporalRuntimeLogger(pino({ level: 'error' }));
  try {
    await program().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    process.stderr.write(`shopflow: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    process.exitCode = error instanceof UsageError ? EXIT_USAGE : 1;
  }
}

// The Temporal runtime keeps native handles open: exit explicitly once stdout is flushed.
void main(process.argv).finally(() => process.stdout.write('', () => process.exit(process.exitCode ?? 0)));

/** Some libraries (Prisma) put the cause on the last line of a long message: that line is the one to show. */
function oneLine(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.length > 1 ? lines[lines.length - 1]! : (lines[0] ?? message);
}
