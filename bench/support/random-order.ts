/** Order requests for load generators: one to three random products of the catalogue, a deliverable address. */

export const pickAny = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** A valid POST /v1/orders body without `customerId` (a customer key implies it). */
export function randomOrderRequest(productIds: readonly string[]) {
  const chosen = new Set<string>();
  const lines = 1 + Math.floor(Math.random() * 3);
  while (chosen.size < lines) chosen.add(pickAny(productIds));
  return {
    items: [...chosen].map((productId) => ({ productId, quantity: 1 + Math.floor(Math.random() * 2) })),
    shippingAddress: {
      recipient: 'Bench Mark',
      line1: '1 Load Street',
      city: 'Leeds',
      postalCode: 'LS1 1AA',
      country: 'GB',
    },
    payment: { token: 'tok_visa' },
  };
}
