import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Logger } from './logger';

const pinoLevel: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Adapts pino to the Temporal SDK's Logger, so SDK, workflow and activity logs share one stream. */
export class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly logger: Logger) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.logger[pinoLevel[level]](meta ?? {}, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

let installed: { prometheus: boolean } | undefined;

export interface TemporalRuntimeOptions {
  /**
   * Where the SDK's own Prometheus exporter listens (`host:port`), serving the worker metrics of
   * the Rust core (task slots, poll and schedule-to-start latencies, sticky cache...) at `/metrics`.
   */
  prometheusBindAddress?: string;
}

/**
 * Routes the SDK's logs, and the Rust core's logs (forwarded), through our logger.
 * The Runtime is process-wide and can be installed once: later calls are no-ops.
 */
export function installTemporalRuntimeLogger(logger: Logger): void {
  installTemporalRuntime(logger);
}

/**
 * Installs the process-wide Temporal Runtime: logs through our logger and, when asked, the SDK's
 * metrics on a Prometheus endpoint. Only the first call installs; a later one asking for metrics
 * the installed Runtime lacks throws, rather than leaving the worker's metrics silently missing.
 */
export function installTemporalRuntime(logger: Logger, options: TemporalRuntimeOptions = {}): void {
  const prometheus = options.prometheusBindAddress;
  if (installed) {
    if (prometheus !== undefined && !installed.prometheus) {
      throw new Error('the Temporal Runtime was installed without metrics; install it with them first');
    }
    return;
  }
  Runtime.install({
    logger: new PinoTemporalLogger(logger.child({ component: 'temporal-sdk' })),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} },
      ...(prometheus === undefined
        ? {}
        : {
            // Prometheus' conventions, as our own metrics: seconds, unit suffixes, `_total` counters.
            metrics: {
              prometheus: {
                bindAddress: prometheus,
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          }),
    },
  });
  installed = { prometheus: prometheus !== undefined };
}
