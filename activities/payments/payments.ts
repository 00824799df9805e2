import { ApplicationFailure } from '@temporalio/activity';
import { OrderFailureType } from '../../domain/order-errors';
import { orderEvent } from '../../domain/order-events';
import { orderDatabase, type OrderRef, type OrderShardDeps } from '../orders/order-database';
import { activityCorrelation, appendOrderEvents, type EventLogDeps } from '../orders/order-event-log';
import { lockOrder, orderTransaction, transitionOrder } from '../orders/order-store';
import { PaymentDeclinedError, type PaymentProvider } from './payment-provider';

/**
 * Taking and returning the customer's money. Never twice: the provider sees one idempotency
 * key per order step, and `payments.order_id` is unique, so a retry after a crash between
 * "provider charged" and "we recorded it" gets the same charge back and records it once.
 */

export interface PaymentActivityDeps extends EventLogDeps, OrderShardDeps {
  payments: PaymentProvider;
}

export interface ChargePaymentInput extends OrderRef {
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

export interface RefundPaymentInput extends OrderRef {
  idempotencyKey: string;
}
export interface RefundPaymentResult {
  refunded: boolean;
  amountMinor: number;
}

interface PaymentRow {
  id: string;
  providerChargeId: string;
  amountMinor: string;
  currency: string;
}

const paymentColumns = `id, provider_charge_id AS "providerChargeId", amount_minor AS "amountMinor", currency`;

export function createPaymentActivities(deps: PaymentActivityDeps) {
  const { payments } = deps;
  return {
    async chargePayment(input: ChargePaymentInput): Promise<ChargePaymentResult> {
      // Routed first: a customer being moved is retried before the provider is asked at all.
      const db = await orderDatabase(deps, input);
      // No look-up first: a retry asks the provider again with the same idempotency key and gets the
      // first charge back, which the insert below then finds recorded. One round trip less per order.
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

      return orderTransaction(db, async (tx) => {
        const status = await lockOrder(tx, input.orderId);
        // The unique order_id makes a second recording of the same charge a no-op that returns the first.
        const { rows } = await tx.query<PaymentRow & { inserted: boolean }>({
          name: 'payment-insert',
          text: `WITH inserted AS (
                   INSERT INTO payments (order_id, amount_minor, currency, provider, provider_charge_id, idempotency_key, status)
                   VALUES ($1::uuid, $2::bigint, $3, $4, $5, $6, 'CAPTURED')
                   ON CONFLICT DO NOTHING
                   RETURNING ${paymentColumns}
                 )
                 SELECT *, true AS inserted FROM inserted
                 UNION ALL
                 SELECT ${paymentColumns}, false FROM payments
                 WHERE order_id = $1::uuid AND NOT EXISTS (SELECT 1 FROM inserted)`,
          values: [
            input.orderId,
            charge.amountMinor,
            charge.currency,
            payments.name,
            charge.chargeId,
            input.idempotencyKey,
          ],
        });
        const payment = rows[0];
        if (!payment) throw new Error(`payment of order ${input.orderId} conflicts with another order's charge`);
        await transitionOrder(tx, input.orderId, status, 'PAID');
        if (payment.inserted) {
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
      const db = await orderDatabase(deps, input);
      const payment = await db.payment.findUnique({ where: { orderId: input.orderId }, include: { refund: true } });
      if (!payment) return { refunded: false, amountMinor: 0 };
      if (payment.refund) return { refunded: true, amountMinor: Number(payment.refund.amountMinor) };

      const refund = await payments.refund({
        idempotencyKey: input.idempotencyKey,
        orderId: input.orderId,
        chargeId: payment.providerChargeId,
        amountMinor: Number(payment.amountMinor),
      });
      await orderTransaction(db, async (tx) => {
        await lockOrder(tx, input.orderId);
        const { rowCount } = await tx.query({
          name: 'refund-insert',
          text: `INSERT INTO refunds (payment_id, amount_minor, provider_refund_id, idempotency_key)
                 VALUES ($1::uuid, $2::bigint, $3, $4) ON CONFLICT DO NOTHING`,
          values: [payment.id, refund.amountMinor, refund.refundId, input.idempotencyKey],
        });
        await tx.query({
          name: 'payment-refunded',
          text: `UPDATE payments SET status = 'REFUNDED' WHERE id = $1::uuid`,
          values: [payment.id],
        });
        if (rowCount) {
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

function paymentResult(row: Pick<PaymentRow, 'id' | 'providerChargeId' | 'amountMinor'>): ChargePaymentResult {
  return { paymentId: row.id, providerChargeId: row.providerChargeId, amountMinor: Number(row.amountMinor) };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
