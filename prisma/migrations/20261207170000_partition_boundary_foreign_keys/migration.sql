-- Foreign keys that cross the partition boundary go (docs/sharding.md). A customer's order-side rows
-- live on the customer's shard, the catalogue's (sellers, products, inventory and reservations,
-- reviews, API keys) in the catalogue database: a key from one side to the other would point into
-- another server whenever they are two. The saga keeps these references true instead: an order's
-- lines and shipments name the products and sellers it was priced from and booked with, and its
-- reservations are written by the same steps that record the order (activities/inventory.ts).
-- Foreign keys within one side stay (orders to customers, order lines and shipments to orders,
-- reservations and reviews to products, API keys to sellers).
ALTER TABLE "order_lines" DROP CONSTRAINT "order_lines_product_id_fkey";
ALTER TABLE "order_lines" DROP CONSTRAINT "order_lines_seller_id_fkey";
ALTER TABLE "shipments" DROP CONSTRAINT "shipments_seller_id_fkey";
ALTER TABLE "reservations" DROP CONSTRAINT "reservations_order_id_fkey";
ALTER TABLE "api_keys" DROP CONSTRAINT "api_keys_customer_id_fkey";
ALTER TABLE "product_reviews" DROP CONSTRAINT "product_reviews_customer_id_fkey";
