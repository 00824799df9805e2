/**
 * The payment provider as the saga sees it. A real provider (Stripe, Adyen) plugs in behind
 * this interface; every call carries an idempotency key, so a retried call after a lost
 * response returns the first result instead of charging again.
 */
export interface PaymentProvider {
  readonly name: string;
  charge(request: ChargeRequest): Promise<Charge>;
  refund(request: RefundRequest): Promise<ProviderRefund>;
}

export interface ChargeRequest {
  idempotencyKey: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  token: string;
}

export interface Charge {
  chargeId: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  createdAt: string;
}

export interface RefundRequest {
  idempotencyKey: string;
  orderId: string;
  chargeId: string;
  amountMinor: number;
}

export interface ProviderRefund {
  refundId: string;
  chargeId: string;
  amountMinor: number;
  createdAt: string;
}

/** The card was declined: a business outcome, retrying cannot change it. */
export class PaymentDeclinedError extends Error {
  constructor(
    readonly declineCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'PaymentDeclinedError';
  }
}

/** The provider could not be reached or answered 5xx: retry with backoff. */
export class ProviderUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderUnavailableError';
  }
}
