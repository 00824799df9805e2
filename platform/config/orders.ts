import { countBetween, nonNegativeMs, positiveMs } from './values';
import { area, variable } from './variable';

export const orders = area(
  { title: 'Orders' },
  {
    maxItems: variable('ORDER_MAX_ITEMS', countBetween(1, 1000), {
      default: '50',
      description: 'most lines per order',
    }),
    maxQuantity: variable('ORDER_MAX_QUANTITY', countBetween(1, 1_000_000), {
      default: '1000',
      description: 'most units per line',
    }),
    deliveryTimeoutMs: variable('ORDER_DELIVERY_TIMEOUT_MS', positiveMs, {
      default: '1209600000',
      description: "how long an order waits for every shipment's delivery (14 days) before it is flagged overdue",
    }),
    continueAsNewAfterEvents: variable('ORDER_CONTINUE_AS_NEW_EVENTS', countBetween(20, 50_000), {
      default: '5000',
      description: 'history events after which an order waiting for delivery continues as new, carrying its state',
    }),
    defaultCommissionBps: variable('DEFAULT_COMMISSION_BPS', countBetween(0, 10_000), {
      default: '1000',
      description: 'platform commission in basis points (1000 = 10 %) for sellers without their own rate',
    }),
  },
);

export const idempotency = area(
  { title: 'Idempotency keys', intro: 'Requests that carry an `Idempotency-Key` header.' },
  {
    ttlMs: variable('IDEMPOTENCY_KEY_TTL_MS', positiveMs, {
      default: '86400000',
      description: "how long a key's response is kept and replayed (24 h)",
    }),
    lockMs: variable('IDEMPOTENCY_LOCK_MS', positiveMs, {
      default: '30000',
      description: 'after this long, a key whose first request never finished may be taken over by a retry',
    }),
    sweepIntervalMs: variable('IDEMPOTENCY_SWEEP_INTERVAL_MS', positiveMs, {
      default: '600000',
      description: 'how often the API deletes expired keys',
    }),
  },
);

export const simulators = area(
  {
    title: 'Simulated providers',
    intro: 'Delays the simulated payment provider and carrier add, to make races visible in tests and benchmarks.',
  },
  {
    paymentLatencyMs: variable('PAYMENT_SIM_LATENCY_MS', nonNegativeMs, {
      default: '0',
      description: 'delay the simulated payment provider adds after recording a charge (`0`: none)',
    }),
    shippingLatencyMs: variable('SHIPPING_SIM_LATENCY_MS', nonNegativeMs, {
      default: '0',
      description: 'delay the simulated carrier adds after recording a shipment (`0`: none)',
    }),
  },
);
