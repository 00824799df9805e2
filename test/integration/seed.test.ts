import { randomUUID } from 'node:crypto';
import { createDatabase, type Database } from '../../platform/database';
import { migrate } from '../../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../../platform/postgres-admin';
import { runEntry } from '../support/processes';
import { testServices } from '../support/services';

/** `npm run seed`: a realistic catalogue of any size, reproducible from its seed. */
describe('npm run seed', () => {
  const databaseUrl = databaseUrlFor(testServices.postgresUrl, `shopflow_seed_${randomUUID().slice(0, 8)}`);
  let db: Database;

  beforeAll(async () => {
    await ensureDatabase(databaseUrl);
    await migrate(databaseUrl);
    db = createDatabase({ database: { url: databaseUrl, poolSize: 2 } });
  });
  afterAll(async () => {
    await db.$disconnect();
    await dropDatabase(databaseUrl);
  });

  const seed = (...args: string[]) => runEntry('scripts/seed.ts', { DATABASE_URL: databaseUrl }, 60_000, args);

  it('creates sellers, products with stock in a category tree, and customers with addresses', async () => {
    const run = seed('--sellers', '4', '--products', '120', '--customers', '15', '--seed', '7');

    expect(run.status).toBe(0);
    expect(await db.seller.count()).toBe(4);
    expect(await db.product.count()).toBe(120);
    expect(await db.inventory.count()).toBe(120);
    expect(await db.customer.count()).toBe(15);
    expect(await db.customerAddress.count()).toBe(15);
    const products = await db.product.findMany({ include: { inventory: true } });
    expect(new Set(products.map((p) => p.sellerId)).size).toBe(4);
    expect(products.every((p) => /^[a-z]+\/[a-z]+$/.test(p.categoryPath) && p.priceMinor > 0n)).toBe(true);
    expect(products.every((p) => p.currency === 'EUR' && p.inventory && p.inventory.onHand <= 100)).toBe(true);
  });

  it('gives every product its ProductCreated event and outbox row, written with the product', async () => {
    const products = await db.product.findMany({ include: { inventory: true } });
    const events = await db.domainEvent.findMany({ where: { aggregateType: 'product' }, include: { outbox: true } });

    expect(events).toHaveLength(products.length);
    const byProduct = new Map(events.map((e) => [e.aggregateId, e]));
    for (const p of products) {
      const event = byProduct.get(p.id);
      expect(event).toMatchObject({
        version: 1,
        eventType: 'ProductCreated',
        causationKey: `product:create:${p.id}`,
        payload: {
          sellerId: p.sellerId,
          sku: p.sku,
          name: p.name,
          description: p.description,
          categoryPath: p.categoryPath,
          priceMinor: Number(p.priceMinor),
          currency: p.currency,
          stock: p.inventory!.onHand,
          active: true,
        },
        outbox: { version: 1, eventType: 'ProductCreated', stream: 'shopflow:events:product', status: 'PENDING' },
      });
    }
    // One transaction per batch wrote a product and its event: the rows share their inserting transaction.
    const apart = await db.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM products p
      JOIN domain_events e ON e.aggregate_id = p.id
      JOIN outbox_events o ON o.event_id = e.id
      WHERE p.xmin <> e.xmin OR o.xmin <> e.xmin`;
    expect(apart[0]!.n).toBe(0);
  });

  it('is reproducible: the same seed again writes nothing, not even events', async () => {
    const before = { products: await db.product.count(), events: await db.domainEvent.count() };

    const run = seed('--sellers', '4', '--products', '120', '--customers', '15', '--seed', '7');

    expect(run.status).toBe(0);
    expect(run.stdout + run.stderr).toContain('"written":{"sellers":0,"products":0,"productEvents":0,"customers":0}');
    expect({ products: await db.product.count(), events: await db.domainEvent.count() }).toEqual(before);
    expect(await db.outboxEvent.count()).toBe(before.events);
  });

  it('gives a product seeded before products had events its ProductCreated on the next run', async () => {
    const product = await db.product.findFirstOrThrow({ include: { inventory: true } });
    await db.outboxEvent.deleteMany({ where: { aggregateId: product.id } });
    await db.domainEvent.deleteMany({ where: { aggregateId: product.id } });

    const run = seed('--sellers', '4', '--products', '120', '--customers', '15', '--seed', '7');

    expect(run.status).toBe(0);
    expect(run.stdout + run.stderr).toContain('"products":0,"productEvents":1,');
    const events = await db.domainEvent.findMany({ where: { aggregateId: product.id }, include: { outbox: true } });
    expect(events).toMatchObject([
      { version: 1, eventType: 'ProductCreated', payload: { sku: product.sku }, outbox: { version: 1 } },
    ]);
  });

  it('writes a catalogue of several batches, some of them at once, counting every product and event', async () => {
    const before = { products: await db.product.count(), events: await db.domainEvent.count() };

    const run = seed('--sellers', '2', '--products', '2100', '--customers', '0', '--seed', '8');

    expect(run.status).toBe(0);
    expect(run.stdout + run.stderr).toContain('"products":2100,"productEvents":2100,');
    expect(await db.product.count()).toBe(before.products + 2100);
    expect(await db.domainEvent.count()).toBe(before.events + 2100);
    expect(await db.outboxEvent.count()).toBe(before.events + 2100);
  });

  it.each([
    [['--products', '-5'], '--products must be a whole number ≥ 0'],
    [['--sellers', '0'], '--sellers must be a whole number ≥ 1'],
    [['--currency', 'eur'], 'must be an ISO 4217 code such as EUR'],
    [['--bogus'], "unknown option '--bogus'"],
  ])('rejects %j with one clear line and exit code 2, writing nothing', async (args, message) => {
    const counts = async () => ({ products: await db.product.count(), events: await db.domainEvent.count() });
    const before = await counts();

    const run = seed(...args);

    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(message);
    expect(await counts()).toEqual(before);
  });
});
