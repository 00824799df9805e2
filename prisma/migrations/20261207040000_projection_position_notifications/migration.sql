-- Read-your-writes waiters (lib/projections/position-watcher.ts) LISTEN on `projection_positions`
-- instead of polling: every statement that moves positions forward notifies once per projection,
-- at its commit, which is when the read model shows the change. Payload: `<projection>
-- <id>:<version>,…`; a statement that moved many positions (a rebuild's swap) sends
-- `<projection> *` and waiters look again. Rows rewritten with the version they had (a projector
-- locking its rows) notify nothing.
CREATE FUNCTION read_models.notify_positions(projection TEXT, moved BIGINT, positions TEXT) RETURNS VOID
LANGUAGE sql AS $$
  -- NOTIFY payloads stop at 8000 bytes; a position takes 45.
  SELECT pg_notify('projection_positions', projection || ' ' || CASE WHEN moved > 150 THEN '*' ELSE positions END)
$$;

CREATE FUNCTION read_models.projection_positions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM read_models.notify_positions(projection, count(*), string_agg(aggregate_id::text || ':' || version, ','))
  FROM changed GROUP BY projection;
  RETURN NULL;
END;
$$;

CREATE FUNCTION read_models.projection_positions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM read_models.notify_positions(c.projection, count(*), string_agg(c.aggregate_id::text || ':' || c.version, ','))
  FROM changed c LEFT JOIN previous p ON p.projection = c.projection AND p.aggregate_id = c.aggregate_id
  WHERE p.version IS NULL OR c.version > p.version
  GROUP BY c.projection;
  RETURN NULL;
END;
$$;

CREATE TRIGGER projection_positions_inserted AFTER INSERT ON read_models.projection_positions
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION read_models.projection_positions_inserted();
CREATE TRIGGER projection_positions_updated AFTER UPDATE ON read_models.projection_positions
  REFERENCING OLD TABLE AS previous NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION read_models.projection_positions_updated();
