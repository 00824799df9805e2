import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request a piece of work is done for, carried through every await without passing it
 * around, so that any log line written while serving a request names it (platform/logger.ts).
 */
const storage = new AsyncLocalStorage<{ requestId: string }>();

export function runInRequest<T>(requestId: string, work: () => T): T {
  return storage.run({ requestId }, work);
}

/** The id pino-http gave the request (the caller's X-Request-Id, or one it made). */
export function requestIdOf(req: { id?: unknown }): string {
  return typeof req.id === 'string' || typeof req.id === 'number' ? String(req.id) : 'unknown';
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
