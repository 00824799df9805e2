-- Each inserting statement's NOTIFY names the highest outbox sequence it inserted, so a relay can
-- tell a notification of rows its last claims already took (a NOTIFY is delivered after the
-- commit, and a claim begun in between has found the rows) from news, and skip the empty claim
-- (events/outbox-relay-loop.ts). Still one notification per inserting statement, not per row.
DROP TRIGGER "outbox_events_notify" ON "outbox_events";
CREATE OR REPLACE FUNCTION "outbox_events_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_events', (SELECT max("sequence")::text FROM inserted));
  RETURN NULL;
END;
$$;
CREATE TRIGGER "outbox_events_notify" AFTER INSERT ON "outbox_events"
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION "outbox_events_notify"();
