-- Catalogue (sellers, products, stock), customers, and the platform probe's log.

CREATE TABLE "sellers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(200) NOT NULL,
    "email" VARCHAR(320) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sellers_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "products" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "seller_id" UUID NOT NULL,
    "sku" VARCHAR(64) NOT NULL,
    "name" VARCHAR(300) NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "category_path" VARCHAR(500) NOT NULL,
    "price_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "products_pkey" PRIMARY KEY ("id"),
    -- Money is integer minor units; a price is never negative.
    CONSTRAINT "products_price_minor_check" CHECK ("price_minor" >= 0),
    CONSTRAINT "products_currency_check" CHECK ("currency" ~ '^[A-Z]{3}$')
);

CREATE TABLE "inventory" (
    "product_id" UUID NOT NULL,
    "on_hand" INTEGER NOT NULL,
    "reserved" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inventory_pkey" PRIMARY KEY ("product_id"),
    -- Stock invariants live in the database, so no code path can oversell.
    CONSTRAINT "inventory_on_hand_check" CHECK ("on_hand" >= 0),
    CONSTRAINT "inventory_reserved_check" CHECK ("reserved" >= 0 AND "reserved" <= "on_hand")
);

CREATE TABLE "customers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(200) NOT NULL,
    "email" VARCHAR(320) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customers_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "probe_runs" (
    "id" UUID NOT NULL,
    "workflow_id" VARCHAR(200) NOT NULL,
    "requested_by" VARCHAR(200) NOT NULL,
    "note" VARCHAR(500) NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),
    "postgres_ms" INTEGER,
    "redis_ms" INTEGER,

    CONSTRAINT "probe_runs_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "sellers_email_key" ON "sellers"("email");

CREATE INDEX "products_category_path_idx" ON "products"("category_path");

CREATE UNIQUE INDEX "products_seller_id_sku_key" ON "products"("seller_id", "sku");

CREATE UNIQUE INDEX "customers_email_key" ON "customers"("email");

CREATE UNIQUE INDEX "probe_runs_workflow_id_key" ON "probe_runs"("workflow_id");

CREATE INDEX "probe_runs_created_at_idx" ON "probe_runs"("created_at");

ALTER TABLE "products" ADD CONSTRAINT "products_seller_id_fkey" FOREIGN KEY ("seller_id") REFERENCES "sellers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE "inventory" ADD CONSTRAINT "inventory_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id") ON DELETE CASCADE ON UPDATE CASCADE;
