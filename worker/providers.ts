import type { PaymentProvider } from '../activities/payments/payment-provider';
import type { ShippingProvider } from '../activities/shipping/shipping-provider';
import { SimulatedPaymentProvider } from '../activities/payments/simulated-payment-provider';
import { SimulatedShippingProvider } from '../activities/shipping/simulated-shipping-provider';
import type { Config } from '../platform/config';
import type { RedisClient } from '../platform/redis';

export interface Providers {
  payments: PaymentProvider;
  shipping: ShippingProvider;
}

/** The external providers the activities talk to. Today both are simulators; a real one plugs in here. */
export function createProviders(config: Pick<Config, 'simulators'>, redis: RedisClient): Providers {
  return {
    payments: new SimulatedPaymentProvider(redis, { latencyMs: config.simulators.paymentLatencyMs }),
    shipping: new SimulatedShippingProvider(redis, { latencyMs: config.simulators.shippingLatencyMs }),
  };
}
