-- Product reviews (a write-model table), a global order of the event store, and the CQRS read
-- side: projection bookkeeping and the denormalized read models.
--
-- Read models live in their own schema, `read_models`. They are written only by projections
-- (lib/projections/*, raw SQL) and read only by the API's read routes; they are not Prisma
-- models, and a projection can rebuild any of them from the event store into a fresh table and
-- swap it in (`shopflow projections rebuild`). The write model stays in `public`.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The event store's global order: rebuilds read every event of an aggregate type in this order.
-- An aggregate's later version is always appended after its earlier one committed, so within an
-- aggregate position order is version order.
ALTER TABLE "domain_events" ADD COLUMN "position" BIGSERIAL NOT NULL;
CREATE UNIQUE INDEX "domain_events_position_key" ON "domain_events"("position");
CREATE INDEX "domain_events_aggregate_type_position_idx" ON "domain_events"("aggregate_type", "position");

CREATE TABLE "product_reviews" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "product_id" UUID NOT NULL,
    "customer_id" UUID NOT NULL,
    "rating" SMALLINT NOT NULL,
    "body" VARCHAR(5000) NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "product_reviews_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "product_reviews_rating_check" CHECK ("rating" BETWEEN 1 AND 5)
);
-- One review per customer and product.
CREATE UNIQUE INDEX "product_reviews_product_id_customer_id_key" ON "product_reviews"("product_id", "customer_id");
CREATE INDEX "product_reviews_customer_id_idx" ON "product_reviews"("customer_id");
ALTER TABLE "product_reviews" ADD CONSTRAINT "product_reviews_product_id_fkey"
    FOREIGN KEY ("product_id") REFERENCES "products"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "product_reviews" ADD CONSTRAINT "product_reviews_customer_id_fkey"
    FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE SCHEMA IF NOT EXISTS read_models;

-- How far each projection got, per aggregate: an event at or below the stored version was applied
-- already (a redelivery, or an event a rebuild applied before the swap) and is skipped. This is
-- also what a read waits on for read-your-writes (lib/projections/consistency.ts).
CREATE TABLE read_models.projection_positions (
    projection VARCHAR(100) NOT NULL,
    aggregate_id UUID NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (projection, aggregate_id)
);

-- One row per projection: progress and history, for `shopflow projections status`, lag and health.
CREATE TABLE read_models.projection_status (
    projection VARCHAR(100) NOT NULL PRIMARY KEY,
    events_applied BIGINT NOT NULL DEFAULT 0,
    last_event_at TIMESTAMPTZ(3),
    last_applied_at TIMESTAMPTZ(3),
    rebuilt_at TIMESTAMPTZ(3),
    rebuild_events BIGINT,
    rebuild_ms INTEGER
);

-- orders_read: one row per order, everything a "my orders" page or a seller's order list shows.
CREATE TABLE read_models.orders_read (
    order_id UUID NOT NULL PRIMARY KEY,
    version INTEGER NOT NULL,
    workflow_id VARCHAR(200) NOT NULL,
    customer_id UUID NOT NULL,
    customer_name VARCHAR(200) NOT NULL,
    customer_email VARCHAR(320) NOT NULL,
    status VARCHAR(20) NOT NULL,
    status_label VARCHAR(60) NOT NULL,
    failure_reason TEXT,
    currency CHAR(3) NOT NULL,
    item_count INTEGER NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    commission_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    ship_recipient VARCHAR(200) NOT NULL,
    ship_line1 VARCHAR(200) NOT NULL,
    ship_line2 VARCHAR(200),
    ship_city VARCHAR(100) NOT NULL,
    ship_postal_code VARCHAR(20) NOT NULL,
    ship_country CHAR(2) NOT NULL,
    product_names TEXT[] NOT NULL,
    seller_ids UUID[] NOT NULL,
    seller_names TEXT[] NOT NULL,
    lines JSONB NOT NULL,
    shipments JSONB NOT NULL,
    placed_at TIMESTAMPTZ(3) NOT NULL,
    updated_at TIMESTAMPTZ(3) NOT NULL
);
-- "My orders, newest first", keyset-paginated on (placed_at, order_id).
CREATE INDEX orders_read_customer_idx ON read_models.orders_read (customer_id, placed_at DESC, order_id DESC);

-- A seller's orders, newest first: one row per (seller, order).
CREATE TABLE read_models.seller_orders_read (
    seller_id UUID NOT NULL,
    order_id UUID NOT NULL,
    placed_at TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (seller_id, order_id)
);
CREATE INDEX seller_orders_read_seller_idx ON read_models.seller_orders_read (seller_id, placed_at DESC, order_id DESC);
