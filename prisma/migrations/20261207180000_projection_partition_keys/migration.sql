-- Where an aggregate's events are stored, for a projector that reads them on shards
-- (read-models/projections/shard-events.ts, docs/sharding.md): the aggregate's partition key, an
-- order's `customer:{customerId}` from its OrderPlaced. NULL for aggregates of the catalogue
-- database (products) and for positions written before the key was learned. A key never changes,
-- whichever shard holds it: the router says where it is now. Nullable, so no table rewrite.
ALTER TABLE read_models.projection_positions ADD COLUMN partition_key VARCHAR(200);
