import { randomUUID } from 'node:crypto';
import { createDatabase, type Database } from '../../lib/database';
import { migrate } from '../../lib/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../../lib/postgres-admin';
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

  it('is reproducible: the same seed again writes nothing', async () => {
    const before = await db.product.count();

    const run = seed('--sellers', '4', '--products', '120', '--customers', '15', '--seed', '7');

    expect(run.status).toBe(0);
    expect(run.stdout + run.stderr).toContain('"written":{"sellers":0,"products":0,"customers":0}');
    expect(await db.product.count()).toBe(before);
  });

  it.each([
    [['--products', '-5'], '--products must be a whole number ≥ 0'],
    [['--sellers', '0'], '--sellers must be a whole number ≥ 1'],
    [['--currency', 'eur'], 'must be an ISO 4217 code such as EUR'],
    [['--bogus'], "unknown option '--bogus'"],
  ])('rejects %j with one clear line and exit code 2, writing nothing', async (args, message) => {
    const before = await db.product.count();

    const run = seed(...args);

    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(message);
    expect(await db.product.count()).toBe(before);
  });
});
