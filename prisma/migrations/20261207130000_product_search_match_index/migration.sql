-- The product search's match index: one GIN index over the search words and the facet values a
-- search filters on by equality (btree_gin), replacing the index of the words alone. A search
-- with words and filters ('shirt' in fashion, 10-25 or 25-50, rated 4 or more) then intersects
-- them inside the index and reads only the rows that match everything, where the words' index
-- alone made it read every row of the word (tens of thousands at a million products) to filter
-- them. `category` is the top-level category (a category filter also says it, the full path is
-- checked on the row); a minimum rating also names the rating buckets it can fall in. Stock
-- stays in the index for `inStock=false`; the planner leaves `inStock=true`, which nearly every
-- product is, to the row. Ranges (a numeric rating) are left out: GIN collects a range's every
-- entry before intersecting, which costs more than it saves.
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE INDEX product_search_view_match_idx ON read_models.product_search_view
    USING gin (search_vector, category, price_range, rating_bucket, in_stock, seller_id) WHERE active;
DROP INDEX read_models.product_search_view_vector_idx;

-- A seller's products by sales (a storefront's default page) without reading all of them; it
-- also serves every other seller filter, as the index of seller_id alone did.
CREATE INDEX product_search_view_seller_sales_idx
    ON read_models.product_search_view (seller_id, sales_count, product_id) WHERE active;
DROP INDEX read_models.product_search_view_seller_idx;
