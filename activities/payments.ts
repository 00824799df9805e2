import { ApplicationFailure } from '@temporalio/activity';
import { OrderFailureType } from '../domain/order-errors';
import { orderEvent } from '../domain/order-events';
import type { Database } from '../lib/database';
import { activityCorrelation, appendOrderEvents, type EventLogDeps } from './order-event-log';
import { lockOrder, transitionOrder } from './order-store';
import { PaymentDeclinedError, type PaymentProvider } from './providers/payment-provider';

/**
 * Taking and returning the customer's money. Never twice: the provider sees one idempotency
 * key per order step, and `payments.order_id` is unique, so a retry after a crash between
 * "provider charged" and "we recorded it" gets the same charge back and records it once.
 */

export interface PaymentActivityDeps extends EventLogDeps {
  db: Database;
  payments: PaymentProvider;
}

export interface ChargePaymentInput {
  orderId: string;
  amountMinor: number;
  currency: string;
  token: string;
  idempotencyKey: string;
}
export interface ChargePaymentResult {
  paymentId: string;
  providerChargeId: string;
  amountMinor: number;
}

export interface RefundPaymentInput {
  orderId: string;
  idempotencyKey: string;
}
export interface RefundPaymentResult {
  refunded: boolean;
  amountMinor: number;
}

export function createPaymentActivities(deps: PaymentActivityDeps) {
  const { db, payments } = deps;
  return {
    async chargePayment(input: ChargePaymentInput): Promise<ChargePaymentResult> {
      const recorded = await db.payment.findUnique({ where: { orderId: input.orderId } });
      if (recorded) return paymentResult(recorded);

      const charge = await payments
        .charge({
          idempotencyKey: input.idempotencyKey,
          orderId: input.orderId,
          amountMinor: input.amountMinor,
          currency: input.currency,
          token: input.token,
        })
        .catch((error: unknown) => {
          if (error instanceof PaymentDeclinedError) {
            throw ApplicationFailure.nonRetryable(
              `payment declined: ${error.message}`,
              OrderFailureType.PaymentDeclined,
              {
                declineCode: error.declineCode,
              },
            );
          }
          throw error; // an outage: Temporal retries with backoff
        });

      return db.$transaction(async (tx) => {
        const status = await lockOrder(tx, input.orderId);
        const { count } = await tx.payment.createMany({
          data: [
            {
              orderId: input.orderId,
              amountMinor: charge.amountMinor,
              currency: charge.currency,
              provider: payments.name,
              providerChargeId: charge.chargeId,
              idempotencyKey: input.idempotencyKey,
              status: 'CAPTURED',
            },
          ],
          skipDuplicates: true,
        });
        await transitionOrder(tx, input.orderId, status, 'PAID');
        const payment = await tx.payment.findUniqueOrThrow({ where: { orderId: input.orderId } });
        if (count > 0) {
          await appendOrderEvents(
            tx,
            input.orderId,
            activityCorrelation(input.orderId, 'take-payment', input.idempotencyKey),
            [
              orderEvent('PaymentCaptured', {
                paymentId: payment.id,
                amountMinor: Number(payment.amountMinor),
                currency: payment.currency,
              }),
            ],
            deps,
          );
        }
        return paymentResult(payment);
      });
    },

    /** Compensation: refunds the order's charge in full. Nothing charged, or already refunded: a no-op. */
    async refundPayment(input: RefundPaymentInput): Promise<RefundPaymentResult> {
      const payment = await db.payment.findUnique({ where: { orderId: input.orderId }, include: { refund: true } });
      if (!payment) return { refunded: false, amountMinor: 0 };
      if (payment.refund) return { refunded: true, amountMinor: Number(payment.refund.amountMinor) };

      const refund = await payments.refund({
        idempotencyKey: input.idempotencyKey,
        orderId: input.orderId,
        chargeId: payment.providerChargeId,
        amountMinor: Number(payment.amountMinor),
      });
      await db.$transaction(async (tx) => {
        await lockOrder(tx, input.orderId);
        const { count } = await tx.refund.createMany({
          data: [
            {
              paymentId: payment.id,
              amountMinor: refund.amountMinor,
              providerRefundId: refund.refundId,
              idempotencyKey: input.idempotencyKey,
            },
          ],
          skipDuplicates: true,
        });
        await tx.payment.update({ where: { id: payment.id }, data: { status: 'REFUNDED' } });
        if (count > 0) {
          await appendOrderEvents(
            tx,
            input.orderId,
            activityCorrelation(input.orderId, 'refund-payment', input.idempotencyKey),
            [orderEvent('PaymentRefunded', { paymentId: payment.id, amountMinor: refund.amountMinor })],
            deps,
          );
        }
      });
      return { refunded: true, amountMinor: refund.amountMinor };
    },
  };
}

function paymentResult(row: { id: string; providerChargeId: string; amountMinor: bigint }): ChargePaymentResult {
  return { paymentId: row.id, providerChargeId: row.providerChargeId, amountMinor: Number(row.amountMinor) };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
