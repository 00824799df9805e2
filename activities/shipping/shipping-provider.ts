import type { ShippingAddress } from '../../workflows/orders/order-contract';

/**
 * The carrier as the saga sees it: one shipment per seller of an order. Calls carry an
 * idempotency key, so a retry returns the shipment created by the first attempt.
 */
export interface ShippingProvider {
  readonly name: string;
  createShipment(request: CreateShipmentRequest): Promise<ProviderShipment>;
  /** Cancels the shipment created with this key; a no-op when there is none. */
  cancelShipment(request: CancelShipmentRequest): Promise<{ cancelled: boolean }>;
}

export interface CreateShipmentRequest {
  idempotencyKey: string;
  orderId: string;
  sellerId: string;
  address: ShippingAddress;
  parcels: { productId: string; quantity: number }[];
}

export interface ProviderShipment {
  providerShipmentId: string;
  trackingNumber: string;
  carrier: string;
  createdAt: string;
  cancelled: boolean;
}

export interface CancelShipmentRequest {
  idempotencyKey: string;
  orderId: string;
}

/** The carrier does not deliver to this address: a business outcome, not retried. */
export class UndeliverableAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UndeliverableAddressError';
  }
}
