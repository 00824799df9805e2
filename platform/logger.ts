import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config';
import { currentRequestId } from './request-context';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear. */
const redactedPaths = [
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'databaseUrl',
  'redisUrl',
];

/**
 * JSON lines for machines; colourised lines when a person watches a terminal.
 * Pretty printing runs in-process (not a transport thread) so that the last lines
 * before an exit are never lost.
 */
export function createLogger(
  config: Pick<Config, 'log'>,
  name = 'shopflow',
  stream: 'stdout' | 'stderr' = 'stdout',
): Logger {
  const options: pino.LoggerOptions = {
    name,
    level: config.log.level,
    redact: { paths: redactedPaths, censor: '[redacted]' },
    base: { pid: process.pid },
    // Whatever logs while a request is served (the cache, the rate limiter, Prisma errors) names it.
    mixin: () => {
      const requestId = currentRequestId();
      return requestId === undefined ? {} : { requestId };
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const fd = stream === 'stdout' ? 1 : 2;
  const usePretty = config.log.format === 'pretty' || (config.log.format === 'auto' && process[stream].isTTY === true);
  if (usePretty) {
    return pino(
      options,
      pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true, destination: fd }),
    );
  }
  return pino(options, pino.destination({ fd, sync: true }));
}
