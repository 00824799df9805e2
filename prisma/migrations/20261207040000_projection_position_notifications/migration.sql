-- Read-your-writes waiters (lib/projections/position-watcher.ts) LISTEN on `projection_positions`
-- instead of polling: every statement that moves positions notifies once, at its commit, which is
-- when the read model shows the change. Payload: `<projection> <id>:<version>,…`; a statement
-- that moved many positions (a rebuild's swap) sends `<projection> *` and waiters look again.
CREATE FUNCTION read_models.projection_positions_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  moved RECORD;
BEGIN
  FOR moved IN
    SELECT projection, count(*) AS n,
           string_agg(aggregate_id::text || ':' || version, ',') AS positions
    FROM changed GROUP BY projection
  LOOP
    -- NOTIFY payloads stop at 8000 bytes; 45 bytes a position.
    IF moved.n > 150 THEN
      PERFORM pg_notify('projection_positions', moved.projection || ' *');
    ELSE
      PERFORM pg_notify('projection_positions', moved.projection || ' ' || moved.positions);
    END IF;
  END LOOP;
  RETURN NULL;
END;
$$;

CREATE TRIGGER projection_positions_inserted AFTER INSERT ON read_models.projection_positions
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION read_models.projection_positions_notify();
CREATE TRIGGER projection_positions_updated AFTER UPDATE ON read_models.projection_positions
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION read_models.projection_positions_notify();
