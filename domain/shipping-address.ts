/** Where an order goes. Part of the order's input, its events and the carrier's request. */
export interface ShippingAddress {
  recipient: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  /** ISO 3166-1 alpha-2; `ZZ` is the simulated carrier's undeliverable country. */
  country: string;
}
