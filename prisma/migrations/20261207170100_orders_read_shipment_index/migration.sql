-- The delivery route (api/orders/shipment-routes.ts) finds a shipment's order in the read model:
-- a shipment id does not name its customer, so with customers on several shards the read database
-- is the one place that knows every shipment. `shipments @> '[{"shipmentId": …}]'` uses this index.
-- Rebuilds copy it (CREATE TABLE … (LIKE … INCLUDING ALL)).
CREATE INDEX orders_read_shipments_idx ON read_models.orders_read USING gin (shipments jsonb_path_ops);
