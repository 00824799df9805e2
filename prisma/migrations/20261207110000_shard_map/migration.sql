-- The shard map (docs/sharding.md), kept in the catalogue database: which PostgreSQL servers hold
-- customers' order data, and which partition keys (`customer:{id}`) are pinned to one of them
-- against the consistent-hash ring. Every change bumps `shard_map.version` in its transaction, so
-- a router that remembers the version it loaded knows with one tiny query whether to reload.

CREATE TABLE "shards" (
    "id" VARCHAR(50) NOT NULL,
    "database_url" TEXT NOT NULL,
    "region" VARCHAR(50) NOT NULL,
    -- JOINING: registered and migrated, reached only through explicit mappings (the rebalancer
    -- copies customers to it); ACTIVE: owns its arcs of the ring.
    "state" VARCHAR(20) NOT NULL DEFAULT 'JOINING',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "shards_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "shards_state_check" CHECK ("state" IN ('JOINING', 'ACTIVE'))
);

-- One database is one shard: two ids for one database would route a customer to itself twice.
CREATE UNIQUE INDEX "shards_database_url_key" ON "shards"("database_url");
-- What the mappings' foreign key references, so a mapping's URL and region are its shard's.
CREATE UNIQUE INDEX "shards_id_database_url_region_key" ON "shards"("id", "database_url", "region");

-- Partition keys placed explicitly (a customer being moved, or pinned), overriding the ring.
-- The database URL and region repeat the shard's so that a row alone says where the data is; the
-- composite foreign key keeps them equal to the shard's (a changed URL cascades here).
CREATE TABLE "shard_mappings" (
    "partition_key" VARCHAR(200) NOT NULL,
    "shard_id" VARCHAR(50) NOT NULL,
    "database_url" TEXT NOT NULL,
    "region" VARCHAR(50) NOT NULL,
    -- The key's position on the ring (unsigned 32-bit MurmurHash3 of the partition key).
    "hash_value" BIGINT NOT NULL,
    -- The map version this mapping was written in.
    "map_version" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "shard_mappings_pkey" PRIMARY KEY ("partition_key"),
    CONSTRAINT "shard_mappings_hash_value_check" CHECK ("hash_value" BETWEEN 0 AND 4294967295)
);

CREATE INDEX "shard_mappings_shard_id_idx" ON "shard_mappings"("shard_id");

ALTER TABLE "shard_mappings" ADD CONSTRAINT "shard_mappings_shard_id_database_url_region_fkey"
    FOREIGN KEY ("shard_id", "database_url", "region") REFERENCES "shards"("id", "database_url", "region")
    ON DELETE RESTRICT ON UPDATE CASCADE;

-- The map's version: one row, bumped by every change of `shards` or `shard_mappings`.
CREATE TABLE "shard_map" (
    "id" BOOLEAN NOT NULL DEFAULT true,
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "shard_map_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "shard_map_single_row_check" CHECK ("id")
);

INSERT INTO "shard_map" ("id", "version") VALUES (true, 0);
