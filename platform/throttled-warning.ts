import type { Logger } from './logger';

/**
 * A warning for a failure that repeats on every request while a dependency is away (Redis for the
 * read cache or the rate limiter): one warning per interval with the count since the last, the rest
 * at debug, so an outage neither floods the log nor goes unnoticed.
 */
export function throttledWarning(logger: Logger, intervalMs = 10_000): (error: unknown, message: string) => void {
  let lastAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (error, message) => {
    const now = Date.now();
    if (now - lastAt < intervalMs) {
      suppressed += 1;
      logger.debug({ err: error }, message);
      return;
    }
    logger.warn({ err: error, suppressedSinceLastWarning: suppressed }, message);
    lastAt = now;
    suppressed = 0;
  };
}
