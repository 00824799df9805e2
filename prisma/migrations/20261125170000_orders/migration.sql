-- Orders: customers' addresses, the order write model, the saga's effects (reservations,
-- payments, refunds, shipments) and the API's idempotency keys. The invariants on money and
-- stock are constraints here, so that no code path (or retry) can break them.

ALTER TABLE "sellers" ADD COLUMN "commission_rate_bps" INTEGER,
    ADD CONSTRAINT "sellers_commission_rate_bps_check" CHECK ("commission_rate_bps" BETWEEN 0 AND 10000);

CREATE TABLE "customer_addresses" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "customer_id" UUID NOT NULL,
    "label" VARCHAR(50) NOT NULL,
    "recipient" VARCHAR(200) NOT NULL,
    "line1" VARCHAR(200) NOT NULL,
    "line2" VARCHAR(200),
    "city" VARCHAR(100) NOT NULL,
    "postal_code" VARCHAR(20) NOT NULL,
    "country" CHAR(2) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "customer_addresses_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "orders" (
    "id" UUID NOT NULL,
    "customer_id" UUID NOT NULL,
    "workflow_id" VARCHAR(200) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "item_count" INTEGER NOT NULL,
    "subtotal_minor" BIGINT NOT NULL,
    "commission_minor" BIGINT NOT NULL,
    "total_minor" BIGINT NOT NULL,
    "shipping_address" JSONB NOT NULL,
    "failure_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "orders_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "orders_status_check"
        CHECK ("status" IN ('PENDING', 'INVENTORY_RESERVED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'FAILED')),
    CONSTRAINT "orders_amounts_check"
        CHECK ("subtotal_minor" >= 0 AND "commission_minor" >= 0 AND "total_minor" >= 0 AND "item_count" > 0),
    CONSTRAINT "orders_currency_check" CHECK ("currency" ~ '^[A-Z]{3}$')
);

CREATE TABLE "order_lines" (
    "order_id" UUID NOT NULL,
    "line_no" INTEGER NOT NULL,
    "product_id" UUID NOT NULL,
    "seller_id" UUID NOT NULL,
    "product_name" VARCHAR(300) NOT NULL,
    "quantity" INTEGER NOT NULL,
    "unit_price_minor" BIGINT NOT NULL,
    "line_total_minor" BIGINT NOT NULL,
    "commission_rate_bps" INTEGER NOT NULL,
    "commission_minor" BIGINT NOT NULL,

    CONSTRAINT "order_lines_pkey" PRIMARY KEY ("order_id", "line_no"),
    CONSTRAINT "order_lines_quantity_check" CHECK ("quantity" > 0),
    CONSTRAINT "order_lines_amounts_check" CHECK (
        "unit_price_minor" >= 0 AND "line_total_minor" = "unit_price_minor" * "quantity"
        AND "commission_minor" BETWEEN 0 AND "line_total_minor"
        AND "commission_rate_bps" BETWEEN 0 AND 10000)
);

CREATE TABLE "reservations" (
    "order_id" UUID NOT NULL,
    "product_id" UUID NOT NULL,
    "quantity" INTEGER NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "released_at" TIMESTAMPTZ(3),

    CONSTRAINT "reservations_pkey" PRIMARY KEY ("order_id", "product_id"),
    CONSTRAINT "reservations_quantity_check" CHECK ("quantity" > 0),
    CONSTRAINT "reservations_status_check" CHECK ("status" IN ('RESERVED', 'RELEASED', 'CONSUMED'))
);

CREATE TABLE "payments" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "order_id" UUID NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "provider" VARCHAR(50) NOT NULL,
    "provider_charge_id" VARCHAR(100) NOT NULL,
    "idempotency_key" VARCHAR(300) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "payments_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "payments_amount_minor_check" CHECK ("amount_minor" >= 0),
    CONSTRAINT "payments_status_check" CHECK ("status" IN ('CAPTURED', 'REFUNDED'))
);

CREATE TABLE "refunds" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "payment_id" UUID NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "provider_refund_id" VARCHAR(100) NOT NULL,
    "idempotency_key" VARCHAR(300) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "refunds_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "refunds_amount_minor_check" CHECK ("amount_minor" >= 0)
);

CREATE TABLE "shipments" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "order_id" UUID NOT NULL,
    "seller_id" UUID NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "carrier" VARCHAR(50) NOT NULL,
    "tracking_number" VARCHAR(100) NOT NULL,
    "provider_shipment_id" VARCHAR(100) NOT NULL,
    "idempotency_key" VARCHAR(300) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),
    "cancelled_at" TIMESTAMPTZ(3),

    CONSTRAINT "shipments_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "shipments_status_check" CHECK ("status" IN ('CREATED', 'DELIVERED', 'CANCELLED'))
);

CREATE TABLE "idempotency_keys" (
    "scope" VARCHAR(100) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "request_hash" CHAR(64) NOT NULL,
    "state" VARCHAR(20) NOT NULL,
    "resource_id" UUID NOT NULL,
    "locked_until" TIMESTAMPTZ(3) NOT NULL,
    "response_status" INTEGER,
    "response_body" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("scope", "key"),
    CONSTRAINT "idempotency_keys_state_check" CHECK ("state" IN ('IN_PROGRESS', 'COMPLETED'))
);

CREATE INDEX "customer_addresses_customer_id_idx" ON "customer_addresses"("customer_id");
CREATE UNIQUE INDEX "orders_workflow_id_key" ON "orders"("workflow_id");
CREATE INDEX "orders_customer_id_created_at_idx" ON "orders"("customer_id", "created_at");
CREATE INDEX "orders_status_idx" ON "orders"("status");
CREATE INDEX "order_lines_product_id_idx" ON "order_lines"("product_id");
CREATE INDEX "order_lines_seller_id_idx" ON "order_lines"("seller_id");
CREATE INDEX "reservations_product_id_idx" ON "reservations"("product_id");
CREATE UNIQUE INDEX "payments_order_id_key" ON "payments"("order_id");
CREATE UNIQUE INDEX "payments_provider_charge_id_key" ON "payments"("provider_charge_id");
CREATE UNIQUE INDEX "payments_idempotency_key_key" ON "payments"("idempotency_key");
CREATE UNIQUE INDEX "refunds_payment_id_key" ON "refunds"("payment_id");
CREATE UNIQUE INDEX "refunds_provider_refund_id_key" ON "refunds"("provider_refund_id");
CREATE UNIQUE INDEX "refunds_idempotency_key_key" ON "refunds"("idempotency_key");
CREATE UNIQUE INDEX "shipments_provider_shipment_id_key" ON "shipments"("provider_shipment_id");
CREATE UNIQUE INDEX "shipments_idempotency_key_key" ON "shipments"("idempotency_key");
CREATE INDEX "shipments_seller_id_idx" ON "shipments"("seller_id");
CREATE UNIQUE INDEX "shipments_order_id_seller_id_key" ON "shipments"("order_id", "seller_id");
CREATE INDEX "idempotency_keys_expires_at_idx" ON "idempotency_keys"("expires_at");

ALTER TABLE "customer_addresses" ADD CONSTRAINT "customer_addresses_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "orders" ADD CONSTRAINT "orders_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_seller_id_fkey" FOREIGN KEY ("seller_id") REFERENCES "sellers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "payments" ADD CONSTRAINT "payments_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_payment_id_fkey" FOREIGN KEY ("payment_id") REFERENCES "payments"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "shipments" ADD CONSTRAINT "shipments_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "shipments" ADD CONSTRAINT "shipments_seller_id_fkey" FOREIGN KEY ("seller_id") REFERENCES "sellers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
