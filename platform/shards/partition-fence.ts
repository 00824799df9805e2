import { ApplicationFailure } from '@temporalio/common';

/**
 * A partition key whose rows are being moved to another shard: its writes are fenced until the
 * move is done (docs/sharding.md, "Fencing"). The router answers `databaseFor` on such a key with
 * this error rather than a client, so that nothing writes rows that are being copied.
 *
 * Callers retry, they do not wait: an activity lets Temporal retry it (the error says when, see
 * `retryAfterMs`), an HTTP route answers 503 with `Retry-After`. A move of one customer takes a
 * few seconds, far less than a request's or an activity's patience.
 */
export class PartitionFencedError extends Error {
  /** The `type` of the ApplicationFailure an activity turns this into, and the problem type's name. */
  static readonly type = 'PartitionFenced';
  readonly type = PartitionFencedError.type;

  constructor(
    readonly partitionKey: string,
    /** When a retry may find the key unfenced: the router sees an unfence within its staleness. */
    readonly retryAfterMs: number,
  ) {
    super(`partition key ${partitionKey} is being moved to another shard; retry in ${retryAfterMs} ms`);
    this.name = 'PartitionFencedError';
  }

  /** Whole seconds, at least 1, as an HTTP `Retry-After` header wants them. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}

export function isPartitionFenced(error: unknown): error is PartitionFencedError {
  return error instanceof PartitionFencedError;
}

/**
 * The failure an activity throws for a fenced key: retryable, and retried after the hint rather
 * than after the activity's usual backoff, which could be far shorter (wasted attempts) or, late
 * in a retry policy, far longer (a customer's order waiting on nothing).
 */
export function fencedActivityFailure(error: PartitionFencedError): ApplicationFailure {
  return ApplicationFailure.create({
    type: PartitionFencedError.type,
    message: error.message,
    nextRetryDelay: error.retryAfterMs,
    details: [{ partitionKey: error.partitionKey, retryAfterMs: error.retryAfterMs }],
  });
}
