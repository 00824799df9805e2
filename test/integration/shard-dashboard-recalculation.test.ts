import { randomUUID } from 'node:crypto';
import { createProduct } from '../../catalogue/product-store';
import { orderEvent } from '../../domain/order-events';
import { HashRing } from '../../domain/sharding/hash-ring';
import { customerPartitionKey } from '../../domain/sharding/partition-key';
import type { Database } from '../../platform/database';
import { copyCustomerRows, deleteCustomerRows } from '../../platform/shards/customer-rows';
import { ringHash } from '../../platform/shards/ring-hash';
import type { ShardRouter } from '../../platform/shards/router';
import { catchUp } from '../../read-models/projections/runner';
import { sellerDashboardProjection } from '../../read-models/projections/seller-dashboard';
import { recalculateDashboards } from '../../read-models/seller-dashboard/recalculation';
import { createSeller } from '../support/catalogue';
import type { HistoryLine, Outcome } from '../support/order-history';
import type { PostgresServer } from '../support/postgres-server';
import { compareReadModels } from '../support/shard-read-models';
import { writeOrder, writeOrderSteps } from '../support/shard-orders';
import { createShardWorld, startServerShards, type ShardWorld } from '../support/shards';

/**
 * The seller dashboards' full recalculation with customers on two shards (each a PostgreSQL
 * server of its own): orders, lines, payments and refunds on the customer's shard, sellers,
 * products and reviews in the catalogue database, which is also the read database. The
 * recalculation derives order facts from every database of the map: on a consistent system it
 * finds no drift and keeps every shard order's facts, it heals drift injected in the view and in
 * the facts, and the projector then skips the events it already reflects.
 */

const SHARDS = ['shard-1', 'shard-2'] as const;
let world: ShardWorld;
const servers: PostgresServer[] = [];
let router: ShardRouter;
let shardDbs: Record<string, Database>;
let customersByShard: Record<string, string[]>;
let sellers: string[];
let lines: HistoryLine[][];

beforeAll(async () => {
  world = await createShardWorld('shard_dashboard');
  servers.push(...(await startServerShards(world, SHARDS)));
  router = world.router({ maxStalenessMs: 0 });
  shardDbs = Object.fromEntries(await Promise.all(SHARDS.map(async (id) => [id, await router.database(id)])));

  sellers = [(await createSeller(world.catalogue)).id, (await createSeller(world.catalogue)).id];
  const product = async (sellerId: string, name: string, priceMinor: number): Promise<HistoryLine> => {
    const { product: created } = await createProduct(world.catalogue, {
      sellerId,
      sku: `SKU-${randomUUID().slice(0, 8)}`,
      name,
      description: `${name} for the dashboard on shards`,
      categoryPath: 'test/shards',
      priceMinor,
      currency: 'EUR',
      stock: 1_000,
      active: true,
    });
    return { productId: created.productId, sellerId, name, quantity: 1, unitPriceMinor: priceMinor };
  };
  const chair = await product(sellers[0]!, 'Oak chair', 4_999);
  const lamp = await product(sellers[0]!, 'Lamp', 1_500);
  const kettle = await product(sellers[1]!, 'Kettle', 2_500);
  lines = [[{ ...chair, quantity: 2 }, kettle], [{ ...lamp, quantity: 3 }], [kettle, lamp]];

  // Two customers on each shard, each on the shard the ring gives them.
  const ring = new HashRing([...SHARDS], { hash: ringHash });
  customersByShard = { 'shard-1': [], 'shard-2': [] };
  for (let i = 0; Object.values(customersByShard).some((ids) => ids.length < 2); i++) {
    const id = randomUUID();
    const shard = ring.shardOf(customerPartitionKey(id));
    if (customersByShard[shard]!.length >= 2) continue;
    await shardDbs[shard]!.customer.create({
      data: { id, name: `Customer ${i} of ${shard}`, email: `c${i}-${id}@dashboards.example` },
    });
    customersByShard[shard]!.push(id);
  }
}, 120_000);

afterAll(async () => {
  await world?.end();
  await Promise.all(servers.map((server) => server.stop()));
});

const outcomes: Outcome[] = ['placed', 'paid', 'shipped', 'delivered', 'failed', 'cancelled-after-payment'];
let placed = 0;

/** `perCustomer` orders for every customer, written on the customer's shard. */
async function placeOrders(perCustomer: number): Promise<void> {
  for (const [shard, customerIds] of Object.entries(customersByShard)) {
    for (const customerId of customerIds) {
      for (let i = 0; i < perCustomer; i++) {
        const n = placed++;
        await writeOrder(shardDbs[shard]!, customerId, lines[n % lines.length]!, outcomes[n % outcomes.length]!);
      }
    }
  }
}

const project = () =>
  catchUp({ db: world.catalogue, projection: sellerDashboardProjection, shards: { router, readDb: world.catalogue } });

/** The dashboards' order figures equal a fold of every shard's events. */
async function expectDashboardsEqualTheFold(): Promise<void> {
  const { expected, actual } = await compareReadModels(world.catalogue, Object.values(shardDbs));
  expect(actual.sellers).toEqual(expected.sellers);
}

async function factCount(): Promise<number> {
  const [row] = await world.catalogue.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM read_models.seller_order_facts`,
  );
  return row!.n;
}

async function orderLineSellerPairs(): Promise<number> {
  let pairs = 0;
  for (const db of Object.values(shardDbs)) {
    const [row] = await db.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(DISTINCT (order_id, seller_id))::int AS n FROM order_lines`,
    );
    pairs += row!.n;
  }
  return pairs;
}

it('finds no drift on a consistent system and keeps the facts of every shard order', async () => {
  await placeOrders(3);
  expect(await world.catalogue.order.count()).toBe(0);
  await project();
  await expectDashboardsEqualTheFold();
  const facts = await factCount();
  expect(facts).toBe(await orderLineSellerPairs());

  // Through the caller's router, and through a router of its own (as the scheduled activity runs it).
  const withRouter = await recalculateDashboards({ db: world.catalogue, shards: router });
  // Pages of one order: every page boundary of the shards' reads is crossed.
  const withOwnRouter = await recalculateDashboards({ db: world.catalogue, shardPageOrders: 1 });

  for (const summary of [withRouter, withOwnRouter]) {
    expect(summary).toMatchObject({ sellers: 2, drifted: 0, drifts: [] });
  }
  expect(await factCount()).toBe(facts);
  await expectDashboardsEqualTheFold();
}, 120_000);

it('heals drift injected in the view and in a shard order facts, and reports it', async () => {
  const [sellerA, sellerB] = sellers as [string, string];
  const before = await compareReadModels(world.catalogue, Object.values(shardDbs));
  const truthA = before.expected.sellers[sellerA]!;
  await world.catalogue.$executeRawUnsafe(
    `UPDATE read_models.seller_dashboard_view SET total_orders = 99 WHERE seller_id = $1::uuid`,
    sellerA,
  );
  // Seller B's facts lose an order of a customer on shard-2; the next event rebuilds B's row from them.
  const [lost] = await shardDbs['shard-2']!.$queryRawUnsafe<{ order_id: string }[]>(
    `SELECT DISTINCT order_id::text FROM order_lines WHERE seller_id = $1::uuid LIMIT 1`,
    sellerB,
  );
  await world.catalogue.$executeRawUnsafe(
    `DELETE FROM read_models.seller_order_facts WHERE order_id = $1::uuid AND seller_id = $2::uuid`,
    lost!.order_id,
    sellerB,
  );
  await world.catalogue.$executeRawUnsafe(
    `UPDATE read_models.seller_dashboard_view SET total_orders = total_orders - 1 WHERE seller_id = $1::uuid`,
    sellerB,
  );

  const summary = await recalculateDashboards({ db: world.catalogue, shards: router });

  expect(summary.drifted).toBe(2);
  const bySeller = new Map(summary.drifts.map((drift) => [drift.sellerId, drift]));
  expect(bySeller.get(sellerA)?.fields).toEqual({
    total_orders: { from: '99', to: String(truthA.total_orders) },
  });
  expect(bySeller.get(sellerB)?.fields.total_orders).toEqual({
    from: String(before.expected.sellers[sellerB]!.total_orders - 1),
    to: String(before.expected.sellers[sellerB]!.total_orders),
  });
  await expectDashboardsEqualTheFold();
  expect(await factCount()).toBe(await orderLineSellerPairs());
  expect((await recalculateDashboards({ db: world.catalogue, shards: router })).drifted).toBe(0);
}, 120_000);

it('writes facts ahead of the projector, which then skips the events they reflect', async () => {
  // A shard order paid since the projector's last round: the recalculation reports the lag and applies it.
  const customerId = customersByShard['shard-1']![0]!;
  const { orderId } = await writeOrder(shardDbs['shard-1']!, customerId, lines[1]!, 'paid');
  const ahead = await recalculateDashboards({ db: world.catalogue, shards: router });
  expect(ahead.drifts.map((drift) => drift.sellerId)).toEqual([sellers[0]]);
  await expectDashboardsEqualTheFold();

  // The projector applies those events now: nothing counted twice.
  await project();
  await expectDashboardsEqualTheFold();

  // Later events of the same order still apply.
  await writeOrderSteps(shardDbs['shard-1']!, orderId, [
    orderEvent('ShipmentsCreated', { shipments: [] }),
    orderEvent('OrderDelivered', {}),
  ]);
  await project();
  await expectDashboardsEqualTheFold();
  expect((await recalculateDashboards({ db: world.catalogue, shards: router })).drifted).toBe(0);
}, 120_000);

it('counts once the orders of a customer copied to another shard and not yet deleted on the source', async () => {
  const moving = customersByShard['shard-1']![1]!;
  const facts = await factCount();
  expect(await copyCustomerRows(shardDbs['shard-1']!, shardDbs['shard-2']!, moving)).toBeDefined();
  try {
    const summary = await recalculateDashboards({ db: world.catalogue, shards: router });

    expect(summary.drifted).toBe(0);
    expect(await factCount()).toBe(facts);
  } finally {
    await deleteCustomerRows(shardDbs['shard-2']!, moving);
  }
}, 120_000);
