-- API keys: who may call the API and as whom. Only a SHA-256 of each key is kept (the keys are
-- 256-bit random secrets, so a fast hash is enough; nothing to brute-force), the key itself is
-- shown once when it is created. A customer key is bound to a customer, a seller key to a seller.

CREATE TABLE "api_keys" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    -- The public part of the key (`sfk_<lookup_id>_<secret>`): found by it, shown by `apikey list`.
    "lookup_id" VARCHAR(16) NOT NULL,
    "secret_hash" CHAR(64) NOT NULL,
    "role" VARCHAR(20) NOT NULL,
    "customer_id" UUID,
    "seller_id" UUID,
    "name" VARCHAR(100) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "api_keys_role_check" CHECK ("role" IN ('customer', 'seller', 'operator')),
    CONSTRAINT "api_keys_binding_check" CHECK (
        ("role" = 'customer') = ("customer_id" IS NOT NULL) AND ("role" = 'seller') = ("seller_id" IS NOT NULL)
    )
);

CREATE UNIQUE INDEX "api_keys_lookup_id_key" ON "api_keys"("lookup_id");
CREATE INDEX "api_keys_customer_id_idx" ON "api_keys"("customer_id");
CREATE INDEX "api_keys_seller_id_idx" ON "api_keys"("seller_id");

ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_seller_id_fkey" FOREIGN KEY ("seller_id") REFERENCES "sellers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
