import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../../platform/redis';
import {
  UndeliverableAddressError,
  type CancelShipmentRequest,
  type CreateShipmentRequest,
  type ProviderShipment,
  type ShippingProvider,
} from './shipping-provider';
import { recordOnce } from '../simulated-provider-ledger';

/**
 * A carrier simulated in Redis (outside the worker, like a real carrier's system).
 * Test input: country `ZZ` is undeliverable (see docs/orders.md, "Test inputs").
 */
export const UNDELIVERABLE_COUNTRY = 'ZZ';

export interface SimulatedShippingProviderOptions {
  latencyMs?: number;
  keyPrefix?: string;
}

export function simulatedShippingKey(orderId: string, prefix = 'shopflow:sim:shipping'): string {
  return `${prefix}:shipments:${orderId}`;
}

export class SimulatedShippingProvider implements ShippingProvider {
  readonly name = 'simulated';

  constructor(
    private readonly redis: RedisClient,
    private readonly options: SimulatedShippingProviderOptions = {},
  ) {}

  async createShipment(request: CreateShipmentRequest): Promise<ProviderShipment> {
    if (request.address.country === UNDELIVERABLE_COUNTRY) {
      throw new UndeliverableAddressError(`the carrier does not deliver to country ${request.address.country}`);
    }
    const key = simulatedShippingKey(request.orderId, this.options.keyPrefix);
    const candidate: ProviderShipment = {
      providerShipmentId: `shp_${randomUUID().replaceAll('-', '')}`,
      trackingNumber: `SIM${randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase()}`,
      carrier: 'simulated-post',
      createdAt: new Date().toISOString(),
      cancelled: false,
    };
    const shipment = await recordOnce(this.redis, key, request.idempotencyKey, candidate);
    if (this.options.latencyMs) await sleep(this.options.latencyMs);
    return shipment;
  }

  async cancelShipment(request: CancelShipmentRequest): Promise<{ cancelled: boolean }> {
    const key = simulatedShippingKey(request.orderId, this.options.keyPrefix);
    const stored = await this.redis.hget(key, request.idempotencyKey);
    if (stored === null) return { cancelled: false };
    const shipment = JSON.parse(stored) as ProviderShipment;
    if (!shipment.cancelled) {
      await this.redis.hset(key, request.idempotencyKey, JSON.stringify({ ...shipment, cancelled: true }));
    }
    return { cancelled: true };
  }
}
