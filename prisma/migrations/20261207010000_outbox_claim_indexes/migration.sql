-- The outbox relay reads only what it claims (lib/outbox-relay.ts).
--
-- The claim walks the unpublished rows in sequence order and probes each candidate aggregate for
-- an earlier unpublished row: two partial indexes of the PENDING and FAILED rows only, so the
-- published rows, nearly all of the table, are never read. They replace the index on
-- (status, next_attempt_at, sequence), whose published entries every claim and every write paid
-- for. Retention deletes expired published rows through a partial index on published_at instead
-- of scanning the table.
DROP INDEX "outbox_events_status_next_attempt_at_sequence_idx";
CREATE INDEX "outbox_events_unpublished_sequence_idx" ON "outbox_events"("sequence")
  WHERE "status" IN ('PENDING', 'FAILED');
CREATE INDEX "outbox_events_unpublished_aggregate_id_sequence_idx" ON "outbox_events"("aggregate_id", "sequence")
  WHERE "status" IN ('PENDING', 'FAILED');
CREATE INDEX "outbox_events_published_at_idx" ON "outbox_events"("published_at")
  WHERE "status" = 'PUBLISHED';

-- One NOTIFY per inserting statement instead of one per row, with no payload (no listener reads
-- it): a transaction's notifications with the same payload are delivered once, so a relay wakes
-- once per commit, not once per event.
DROP TRIGGER "outbox_events_notify" ON "outbox_events";
CREATE OR REPLACE FUNCTION "outbox_events_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_events', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER "outbox_events_notify" AFTER INSERT ON "outbox_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "outbox_events_notify"();
