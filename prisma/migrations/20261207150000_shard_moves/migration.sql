-- Moves of partition keys between shards (docs/sharding.md, "Rebalancing"), in the catalogue
-- database beside the shard map. A row is the rebalancer's durable record of one key's move, and
-- its state is the key's fence: while a move is FENCED or past it, the router refuses the key's
-- database (PartitionFencedError, "retry later") so that nothing writes the rows being copied.
-- A PINNED move is planned but not started: the key is mapped to its source and writable.
-- The row goes when the move is done (the key unfenced) or abandoned.

CREATE TABLE "shard_moves" (
    "partition_key" VARCHAR(200) NOT NULL,
    -- The rebalance (its workflow id) that planned the move.
    "rebalance_id" VARCHAR(200) NOT NULL,
    -- `default` when the key's rows are on the catalogue database that is not a registered shard.
    "source_shard_id" VARCHAR(50) NOT NULL,
    "target_shard_id" VARCHAR(50) NOT NULL,
    -- PINNED -> FENCED -> COPIED -> FLIPPED -> SOURCE_DELETED, then the row is deleted.
    "state" VARCHAR(20) NOT NULL DEFAULT 'PINNED',
    "fenced_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "shard_moves_pkey" PRIMARY KEY ("partition_key"),
    CONSTRAINT "shard_moves_state_check" CHECK ("state" IN ('PINNED', 'FENCED', 'COPIED', 'FLIPPED', 'SOURCE_DELETED')),
    CONSTRAINT "shard_moves_distinct_shards_check" CHECK ("source_shard_id" <> "target_shard_id")
);

-- A shard that keys are moving to cannot be removed under them.
ALTER TABLE "shard_moves" ADD CONSTRAINT "shard_moves_target_shard_id_fkey"
    FOREIGN KEY ("target_shard_id") REFERENCES "shards"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE INDEX "shard_moves_target_shard_id_idx" ON "shard_moves"("target_shard_id");

-- Set while a rebalance makes JOINING shards ACTIVE: every key that the ring would then place
-- elsewhere is fenced, so that no customer's first rows land on the old shard between the
-- rebalancer's scan of the shards and the map change that pins such keys where their rows are.
ALTER TABLE "shard_map" ADD COLUMN "ring_change_fenced" BOOLEAN NOT NULL DEFAULT false;
