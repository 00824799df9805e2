import { createTemporalClient, type TemporalClient } from '../../platform/temporal';
import type { Config } from '../../platform/config';
import type { OrderWorkflowInput } from '../../workflows/orders/order-contract';
import { orderInput, seedCustomer, seedProduct, seedSeller, type SeededProduct } from './order-fixtures';
import { startWorker, testConfig, type RunningWorker } from './platform';

/**
 * What saga tests share: a worker on the file's own task queue, a client, a customer and two
 * sellers (15 % and 10 % commission), set up before the file's tests and torn down after them.
 */
export interface SagaWorld {
  config: Config;
  worker: RunningWorker;
  temporal: TemporalClient;
  customerId: string;
  sellerA: string;
  sellerB: string;
  /** 2 (or `appleQuantity`) apples at 12.50 from seller A and 1 pear at 8.99 from seller B, 5 of each in stock. */
  twoSellerOrder(
    overrides?: Parameters<typeof orderInput>[3],
    appleQuantity?: number,
  ): Promise<{ apple: SeededProduct; pear: SeededProduct; input: OrderWorkflowInput }>;
}

export function useSagaWorld(): SagaWorld {
  const world = { config: testConfig() } as SagaWorld;
  beforeAll(async () => {
    world.worker = await startWorker(world.config);
    world.temporal = createTemporalClient(world.config);
    world.customerId = await seedCustomer(world.worker.db);
    world.sellerA = await seedSeller(world.worker.db, 1500);
    world.sellerB = await seedSeller(world.worker.db, 1000);
  });
  afterAll(async () => {
    await world.temporal.close();
    await world.worker.stop();
  });
  world.twoSellerOrder = async (overrides = {}, appleQuantity = 2) => {
    const apple = await seedProduct(world.worker.db, world.sellerA, { priceMinor: 1250, stock: 5 });
    const pear = await seedProduct(world.worker.db, world.sellerB, { priceMinor: 899, stock: 5 });
    const input = orderInput(
      world.customerId,
      [apple, pear],
      [
        { productId: apple.id, quantity: appleQuantity },
        { productId: pear.id, quantity: 1 },
      ],
      overrides,
    );
    return { apple, pear, input };
  };
  return world;
}
