-- The seller dashboard read model (lib/projections/seller-dashboard.ts): one row of metrics per
-- seller, kept from order and product events and recalculated in full from the write model on a
-- schedule (lib/dashboard-recalculation.ts). The two fact tables are the projection's memory: the
-- per-(order, seller) and per-product facts the metrics are aggregated from, so each live event
-- updates facts and then recomputes only the touched sellers' rows, and a rebuild fills the facts
-- and computes every row once at the end.

-- One row per order and seller of the order: the seller's share of it.
CREATE TABLE read_models.seller_order_facts (
    order_id UUID NOT NULL,
    seller_id UUID NOT NULL,
    -- The order's event version these facts reflect: an older event never overwrites newer facts
    -- (a recalculation may have written facts ahead of the projector).
    version INTEGER NOT NULL,
    -- The seller's line totals in the order, before commission.
    gross_minor BIGINT NOT NULL,
    status VARCHAR(20) NOT NULL,
    placed_at TIMESTAMPTZ(3) NOT NULL,
    -- When the payment was captured; null while unpaid.
    paid_at TIMESTAMPTZ(3),
    refunded BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (order_id, seller_id)
);
-- A seller's row is recomputed from their facts at every event that touches them: this index holds
-- every column the figures need, so that is an index-only scan of the seller's entries (about
-- 0.5 ms for 565 facts) instead of one heap page per fact scattered over the table.
CREATE INDEX seller_order_facts_seller_idx ON read_models.seller_order_facts (seller_id)
    INCLUDE (status, paid_at, refunded, gross_minor);

-- One row per product.
CREATE TABLE read_models.seller_product_facts (
    product_id UUID NOT NULL PRIMARY KEY,
    seller_id UUID NOT NULL,
    version INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    review_count INTEGER NOT NULL DEFAULT 0
);
-- Covering, for the same reason as seller_order_facts_seller_idx.
CREATE INDEX seller_product_facts_seller_idx ON read_models.seller_product_facts (seller_id)
    INCLUDE (active, review_count, rating_sum);

-- The dashboard itself: what GET /v1/sellers/{id}/dashboard shows. Money in minor units of the
-- catalogue's single currency.
CREATE TABLE read_models.seller_dashboard_view (
    seller_id UUID NOT NULL PRIMARY KEY,
    seller_name VARCHAR(200) NOT NULL,
    total_orders INTEGER NOT NULL,
    pending_orders INTEGER NOT NULL,
    paid_orders INTEGER NOT NULL,
    total_revenue_minor BIGINT NOT NULL,
    -- Revenue of payments captured in `revenue_month` (a UTC calendar month, as its first day):
    -- a read in a later month shows 0, since no payment of this month has touched the row.
    monthly_revenue_minor BIGINT NOT NULL,
    revenue_month DATE NOT NULL,
    -- Null while the seller has no paid order.
    average_order_value_minor BIGINT,
    total_products INTEGER NOT NULL,
    active_products INTEGER NOT NULL,
    review_count INTEGER NOT NULL,
    rating_sum BIGINT NOT NULL,
    -- Null while the seller's products have no review.
    average_rating NUMERIC(3, 2),
    -- When the row's figures last changed (by an event or a healing recalculation).
    updated_at TIMESTAMPTZ(3) NOT NULL,
    -- When the scheduled full recalculation last checked the row; null until it first runs.
    last_calculated_at TIMESTAMPTZ(3)
);
