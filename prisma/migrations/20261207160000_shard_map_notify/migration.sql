-- Shard routers (platform/shards/router.ts) LISTEN on `shard_map_changed` instead of reading the
-- map's version every second: a process doing ten orders a second would otherwise pay a query, and
-- a PostgreSQL transaction, for every tenth order only to learn that nothing changed. Every change
-- of the map bumps `shard_map.version` in its own transaction (platform/shards/shard-map.ts,
-- shard-moves.ts), so one statement trigger on that one row hears them all; the notification is
-- delivered at commit, when the change becomes visible. Payload: the new version.
CREATE FUNCTION shard_map_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('shard_map_changed', (SELECT version::text FROM changed LIMIT 1));
  RETURN NULL;
END;
$$;

CREATE TRIGGER shard_map_changed AFTER UPDATE ON shard_map
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION shard_map_changed();
