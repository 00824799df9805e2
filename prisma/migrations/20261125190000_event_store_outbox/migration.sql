-- The domain event store (what happened to each aggregate, in version order), its snapshots,
-- the transactional outbox that a relay publishes to Redis Streams, and the consumers' inbox
-- that turns at-least-once delivery into exactly-once effect.

CREATE TABLE "domain_events" (
    "id" UUID NOT NULL,
    "aggregate_type" VARCHAR(50) NOT NULL,
    "aggregate_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "event_type" VARCHAR(100) NOT NULL,
    "payload" JSONB NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "user_id" VARCHAR(200),
    "partition_key" VARCHAR(200) NOT NULL,
    "stream_id" VARCHAR(200) NOT NULL,
    "workflow_id" VARCHAR(200),
    "run_id" VARCHAR(100),
    "activity" VARCHAR(100),
    -- The step that appended it: a retried activity finds its events and appends nothing.
    "causation_key" VARCHAR(300),

    CONSTRAINT "domain_events_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "domain_events_version_check" CHECK ("version" > 0)
);

CREATE TABLE "aggregate_snapshots" (
    "aggregate_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "aggregate_type" VARCHAR(50) NOT NULL,
    "state" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "aggregate_snapshots_pkey" PRIMARY KEY ("aggregate_id", "version")
);

CREATE TABLE "outbox_events" (
    "sequence" BIGSERIAL NOT NULL,
    "event_id" UUID NOT NULL,
    "aggregate_type" VARCHAR(50) NOT NULL,
    "aggregate_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "event_type" VARCHAR(100) NOT NULL,
    "payload" JSONB NOT NULL,
    "stream" VARCHAR(200) NOT NULL,
    "status" VARCHAR(20) NOT NULL DEFAULT 'PENDING',
    "retry_count" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("sequence"),
    CONSTRAINT "outbox_events_status_check" CHECK ("status" IN ('PENDING', 'PUBLISHED', 'FAILED')),
    CONSTRAINT "outbox_events_retry_count_check" CHECK ("retry_count" >= 0)
);

CREATE TABLE "consumer_inbox" (
    "consumer" VARCHAR(100) NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consumer_inbox_pkey" PRIMARY KEY ("consumer", "event_id")
);

CREATE UNIQUE INDEX "domain_events_aggregate_id_version_key" ON "domain_events"("aggregate_id", "version");
CREATE INDEX "domain_events_aggregate_id_occurred_at_idx" ON "domain_events"("aggregate_id", "occurred_at");
CREATE INDEX "domain_events_causation_key_idx" ON "domain_events"("causation_key");
CREATE UNIQUE INDEX "outbox_events_event_id_key" ON "outbox_events"("event_id");
CREATE INDEX "outbox_events_status_next_attempt_at_sequence_idx" ON "outbox_events"("status", "next_attempt_at", "sequence");
CREATE INDEX "outbox_events_aggregate_id_version_idx" ON "outbox_events"("aggregate_id", "version");

ALTER TABLE "outbox_events" ADD CONSTRAINT "outbox_events_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "domain_events"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Wakes relays the moment an outbox row commits (NOTIFY is delivered at commit); they poll too.
CREATE FUNCTION "outbox_events_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_events', NEW."sequence"::text);
  RETURN NEW;
END;
$$;
CREATE TRIGGER "outbox_events_notify" AFTER INSERT ON "outbox_events"
  FOR EACH ROW EXECUTE FUNCTION "outbox_events_notify"();
