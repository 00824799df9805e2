import { ordersReadProjection } from './orders-read';
import { productSearchProjection } from './product-search';
import type { Projection } from './projection';
import { sellerDashboardProjection } from './seller-dashboard';

/** Every read model the projector keeps, by name (the names `shopflow projections` takes). */
export const projections: readonly Projection[] = [
  ordersReadProjection,
  productSearchProjection,
  sellerDashboardProjection,
];

export function projectionNamed(name: string): Projection | undefined {
  return projections.find((p) => p.name === name);
}
