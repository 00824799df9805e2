import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getDMMF } from '@prisma/internals';
import { Client } from 'pg';
import { createDatabase } from '../../platform/database';
import { migrate } from '../../platform/migrations';
import { databaseUrlFor, dropDatabase, ensureDatabase } from '../../platform/postgres-admin';
import { readShardMap, registerShard } from '../../platform/shards/shard-map';
import { readLiveSchema } from '../support/live-schema';
import { runMigrateCli } from '../support/migrate-cli';
import { startPostgresServer } from '../support/postgres-server';
import { repoRoot } from '../support/processes';
import { compareSchema, type DmmfDatamodel, type LiveSchema } from '../support/schema-compare';
import { testServices } from '../support/services';

/**
 * schema.prisma (what the Prisma client believes) and the tables the hand-written migrations
 * create must agree: Prisma's own drift check needs the schema engine, which cannot run here.
 * The negative cases prove the comparison can fail, each naming the table and column.
 */

const schemaText = readFileSync(path.join(repoRoot, 'prisma', 'schema.prisma'), 'utf8');
const databaseUrl = databaseUrlFor(
  testServices.postgresUrl,
  `shopflow_mig_${randomUUID().replace(/-/g, '').slice(0, 12)}`,
);
let client: Client;
let datamodel: DmmfDatamodel;

beforeAll(async () => {
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
  client = new Client({ connectionString: databaseUrl });
  await client.connect();
  datamodel = await parseDatamodel(schemaText);
});

afterAll(async () => {
  await client?.end();
  await dropDatabase(databaseUrl);
});

async function parseDatamodel(text: string): Promise<DmmfDatamodel> {
  return (await getDMMF({ datamodel: text })).datamodel;
}

/**
 * The live schema as it is after `sql`. DDL is transactional in PostgreSQL, so each change is
 * rolled back afterwards and every case starts from the freshly migrated database.
 */
async function liveSchemaAfter(sql: string): Promise<LiveSchema> {
  await client.query('BEGIN');
  try {
    await client.query(sql);
    return await readLiveSchema(client);
  } finally {
    await client.query('ROLLBACK');
  }
}

/**
 * schema.prisma with one edit. Patterns, not exact text, so that re-aligned columns do not break
 * the test; fails loudly when the pattern is gone (the schema moved on and the case needs updating).
 */
function editedSchema(pattern: RegExp, replacement: string): string {
  if (!pattern.test(schemaText)) throw new Error(`schema.prisma no longer matches ${pattern}`);
  return schemaText.replace(pattern, replacement);
}

it('schema.prisma and the migrated database agree', async () => {
  expect(compareSchema(datamodel, await readLiveSchema(client))).toEqual([]);
});

it('every shard, on a PostgreSQL server of its own, gets exactly the schema of the migrations from db:migrate', async () => {
  const server = await startPostgresServer();
  const catalogueUrl = databaseUrlFor(
    testServices.postgresUrl,
    `shopflow_mig_${randomUUID().replace(/-/g, '').slice(0, 12)}`,
  );
  const catalogue = createDatabase({ database: { url: catalogueUrl, poolSize: 1 } });
  try {
    // Given a catalogue whose map names a shard on another server, with no database there yet
    await ensureDatabase(catalogueUrl);
    await migrate(catalogueUrl);
    await registerShard(catalogue, { id: 'shard-1', databaseUrl: server.url('shopflow'), region: 'local' });

    // When the migrations run as in production
    const run = runMigrateCli(catalogueUrl);

    // Then every database of the map, the catalogue and each shard, has the schema's tables exactly
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.logs).toContainEqual(expect.objectContaining({ shard: 'shard-1', msg: 'shard migrated' }));
    const { shards } = await readShardMap(catalogue);
    for (const url of [catalogueUrl, ...shards.map((shard) => shard.databaseUrl)]) {
      const shardClient = new Client({ connectionString: url });
      await shardClient.connect();
      try {
        expect({ url, differences: compareSchema(datamodel, await readLiveSchema(shardClient)) }).toEqual({
          url,
          differences: [],
        });
      } finally {
        await shardClient.end();
      }
    }
    expect(shards.map((shard) => new URL(shard.databaseUrl).port)).toEqual([String(server.port)]);
  } finally {
    await catalogue.$disconnect();
    await dropDatabase(catalogueUrl);
    await server.stop();
  }
});

it('counts a unique constraint the same as a unique index', async () => {
  const live = await liveSchemaAfter(
    'ALTER TABLE "sellers" ADD CONSTRAINT "sellers_email_key" UNIQUE USING INDEX "sellers_email_key"',
  );
  expect(compareSchema(datamodel, live)).toEqual([]);
});

describe('a database changed behind the schema', () => {
  it.each([
    [
      'a unique constraint dropped',
      `ALTER TABLE "sellers" ADD CONSTRAINT "sellers_email_key" UNIQUE USING INDEX "sellers_email_key";
       ALTER TABLE "sellers" DROP CONSTRAINT "sellers_email_key"`,
      'unique on sellers(email): missing in the database',
    ],
    [
      'a column type changed',
      'ALTER TABLE "products" ALTER COLUMN "sku" TYPE VARCHAR(32)',
      'column products.sku (Product.sku): type is character varying(32), the schema says character varying(64)',
    ],
    [
      'a column made nullable',
      'ALTER TABLE "probe_runs" ALTER COLUMN "requested_by" DROP NOT NULL',
      'column probe_runs.requested_by (ProbeRun.requestedBy): is nullable, the schema says the opposite',
    ],
    [
      'a default dropped',
      'ALTER TABLE "inventory" ALTER COLUMN "reserved" DROP DEFAULT',
      'column inventory.reserved (Inventory.reserved): has no default, the schema says "0"',
    ],
    [
      'an index dropped',
      'DROP INDEX "products_category_path_idx"',
      'index on products(category_path): missing in the database',
    ],
    [
      'a unique index with its columns swapped',
      `DROP INDEX "products_seller_id_sku_key";
       CREATE UNIQUE INDEX "products_seller_id_sku_key" ON "products"("sku", "seller_id")`,
      [
        'unique on products(seller_id, sku): missing in the database',
        'unique products_seller_id_sku_key (sku, seller_id) on products: exists in the database but the schema lacks it',
      ],
    ],
    [
      'a foreign key with another ON DELETE',
      `ALTER TABLE "inventory" DROP CONSTRAINT "inventory_product_id_fkey";
       ALTER TABLE "inventory" ADD CONSTRAINT "inventory_product_id_fkey" FOREIGN KEY ("product_id")
         REFERENCES "products"("id") ON DELETE RESTRICT ON UPDATE CASCADE`,
      'foreign key inventory(product_id): ON DELETE Restrict, the schema says Cascade',
    ],
    [
      'a foreign key dropped',
      'ALTER TABLE "products" DROP CONSTRAINT "products_seller_id_fkey"',
      'foreign key products(seller_id): missing in the database (→ sellers(id))',
    ],
    [
      'a stray column',
      'ALTER TABLE "customers" ADD COLUMN "nickname" TEXT',
      'column customers.nickname: exists in the database but no field of Customer describes it',
    ],
    [
      'a stray table',
      'CREATE TABLE "stray_things" ("id" INTEGER PRIMARY KEY)',
      'table stray_things: exists in the database but no model describes it',
    ],
  ])('reports %s', async (_what, sql, differences) => {
    expect(compareSchema(datamodel, await liveSchemaAfter(sql))).toEqual([differences].flat());
  });
});

describe('a schema changed without a migration', () => {
  it.each([
    [
      'a field added',
      editedSchema(/^model Customer \{$/m, 'model Customer {\n  nickname String? @db.VarChar(50)'),
      'column customers.nickname (Customer.nickname): missing in the database',
    ],
    [
      'a field type changed',
      editedSchema(/^(\s+onHand\s+)Int\b/m, '$1BigInt'),
      'column inventory.on_hand (Inventory.onHand): type is integer, the schema says bigint',
    ],
    [
      'a length changed',
      editedSchema(/^(\s+sku\s+String\s+@db\.VarChar)\(64\)/m, '$1(80)'),
      'column products.sku (Product.sku): type is character varying(64), the schema says character varying(80)',
    ],
    [
      'an index added',
      editedSchema(/^(\s+)@@map\("products"\)/m, '$1@@index([name])\n$1@@map("products")'),
      'index on products(name): missing in the database',
    ],
  ])('reports %s', async (_what, text, difference) => {
    const edited = await parseDatamodel(text);
    expect(compareSchema(edited, await readLiveSchema(client))).toEqual([difference]);
  });
});
