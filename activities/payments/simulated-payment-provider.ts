import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../../platform/redis';
import {
  PaymentDeclinedError,
  ProviderUnavailableError,
  type Charge,
  type ChargeRequest,
  type PaymentProvider,
  type ProviderRefund,
  type RefundRequest,
} from './payment-provider';
import { countAttempt, recordOnce } from '../simulated-provider-ledger';

/**
 * A payment provider simulated outside the worker's memory, in Redis, so that its ledger
 * survives a worker crash the way a real provider's would, and tests can count charges.
 *
 * Deterministic test tokens (see docs/orders.md, "Test inputs"):
 * - `tok_visa` (and any other `tok_...`): succeeds;
 * - `tok_declined`: declined, not retried;
 * - `tok_flaky`: fails twice with a transient error per idempotency key, then succeeds.
 */
export const simulatedPaymentTokens = { success: 'tok_visa', declined: 'tok_declined', flaky: 'tok_flaky' } as const;

const FLAKY_FAILURES = 2;

export interface SimulatedPaymentProviderOptions {
  /** Delay after the charge is recorded: widens the "charged but the answer was lost" window. */
  latencyMs?: number;
  keyPrefix?: string;
}

export function simulatedPaymentKeys(orderId: string, prefix = 'shopflow:sim:payments') {
  return {
    charges: `${prefix}:charges:${orderId}`,
    refunds: `${prefix}:refunds:${orderId}`,
    attempts: (idempotencyKey: string) => `${prefix}:attempts:${idempotencyKey}`,
  };
}

export class SimulatedPaymentProvider implements PaymentProvider {
  readonly name = 'simulated';

  constructor(
    private readonly redis: RedisClient,
    private readonly options: SimulatedPaymentProviderOptions = {},
  ) {}

  async charge(request: ChargeRequest): Promise<Charge> {
    const keys = simulatedPaymentKeys(request.orderId, this.options.keyPrefix);
    if (request.token === simulatedPaymentTokens.declined) {
      throw new PaymentDeclinedError('card_declined', 'the card was declined by the issuer');
    }
    if (request.token === simulatedPaymentTokens.flaky) {
      const attempt = await countAttempt(this.redis, keys.attempts(request.idempotencyKey));
      if (attempt <= FLAKY_FAILURES) throw new ProviderUnavailableError(`provider timed out (attempt ${attempt})`);
    }
    const candidate: Charge = {
      chargeId: `ch_${randomUUID().replaceAll('-', '')}`,
      orderId: request.orderId,
      amountMinor: request.amountMinor,
      currency: request.currency,
      createdAt: new Date().toISOString(),
    };
    const charge = await recordOnce(this.redis, keys.charges, request.idempotencyKey, candidate);
    if (this.options.latencyMs) await sleep(this.options.latencyMs);
    return charge;
  }

  async refund(request: RefundRequest): Promise<ProviderRefund> {
    const keys = simulatedPaymentKeys(request.orderId, this.options.keyPrefix);
    const candidate: ProviderRefund = {
      refundId: `re_${randomUUID().replaceAll('-', '')}`,
      chargeId: request.chargeId,
      amountMinor: request.amountMinor,
      createdAt: new Date().toISOString(),
    };
    return recordOnce(this.redis, keys.refunds, request.idempotencyKey, candidate);
  }
}
