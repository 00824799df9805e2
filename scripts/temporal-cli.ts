import { Command } from 'commander';
import { loadConfigOrExit } from '../platform/config';
import { createLogger } from '../platform/logger';
import { TEMPORAL_CLI_VERSION, buildTemporalCli, findTemporalCli } from '../dev/temporal-cli';

const program = new Command('temporal:install')
  .description(
    `Find the Temporal CLI (TEMPORAL_CLI_PATH, \`temporal\` on PATH, then the project's cache) or build the pinned ` +
      `version ${TEMPORAL_CLI_VERSION} with \`go install\`. Prints the CLI's path on stdout.`,
  )
  .option('--rebuild', 'build the pinned version even when one is found')
  .action(async (options: { rebuild?: boolean }) => {
    const config = loadConfigOrExit();
    // Logs go to stderr so that stdout carries only the path, for `$(npm run -s temporal:install)`.
    const logger = createLogger(config, 'shopflow-temporal-cli', 'stderr');
    try {
      const found = options.rebuild ? undefined : findTemporalCli(config.temporal.cliPath);
      if (found) {
        logger.info({ path: found.path, source: found.source }, 'Temporal CLI already present, nothing to build');
        process.stdout.write(`${found.path}\n`);
        return;
      }
      process.stdout.write(`${await buildTemporalCli(logger)}\n`);
    } catch (error) {
      process.stderr.write(`shopflow temporal:install: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  });

void program.parseAsync();
