import type { Response } from 'express';

/**
 * RFC 9457 problem details. Every error the API returns is one of these, with a stable `type`
 * URI per kind of problem and, for bad input, one entry per bad field.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface FieldProblem {
  field: string;
  message: string;
  /** A stable code for the kind of problem (e.g. `unknown-product`), where there is one. */
  code?: string;
}

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldProblem[];
  [extension: string]: unknown;
}

const problemTypeBase = 'https://shopflow.dev/problems/';

export const problemTypes = {
  validation: 'validation-error',
  malformedJson: 'malformed-json',
  payloadTooLarge: 'payload-too-large',
  unsupportedMediaType: 'unsupported-media-type',
  notFound: 'not-found',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  methodNotAllowed: 'method-not-allowed',
  unavailable: 'service-unavailable',
  /** The customer's rows are being moved to another shard (503 with Retry-After). */
  customerMoving: 'customer-moving',
  internal: 'internal-error',
  /** A 4xx from express or a static file (e.g. 416 for an unsatisfiable Range), beside the kinds above. */
  requestRefused: 'request-refused',
  idempotencyKeyReused: 'idempotency-key-reused',
  idempotencyKeyInUse: 'idempotency-key-in-use',
  unprocessableOrder: 'unprocessable-order',
  cancellationRefused: 'cancellation-refused',
  shipmentCancelled: 'shipment-cancelled',
  orderClosed: 'order-closed',
  rateLimited: 'rate-limited',
  rateLimiterUnavailable: 'rate-limiter-unavailable',
} as const;

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly problemType: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldProblem[],
    readonly headers: Record<string, string> = {},
    /** Extension members (RFC 9457 §3.2), e.g. the order's status beside a 409. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
    this.name = 'HttpProblem';
  }

  toJSON(instance?: string): ProblemDetails {
    return {
      ...this.extensions,
      type: problemTypeBase + this.problemType,
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export function sendProblem(res: Response, problem: HttpProblem, instance?: string): void {
  res
    .status(problem.status)
    .set(problem.headers)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem.toJSON(instance)));
}

export const notFound = (what: string): HttpProblem => new HttpProblem(404, problemTypes.notFound, 'Not Found', what);
