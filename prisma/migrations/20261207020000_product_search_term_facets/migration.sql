-- Facet counts per search word (lexeme), kept by the product search projection beside the
-- catalogue-wide counts (lib/projections/product-search.ts), so that a search for one word
-- without filters ("chair", "comfortable") answers its total and its facets from a few dozen rows
-- of this table instead of counting every product that has the word: at a million products a
-- common word matches a hundred thousand of them, and counting those means reading every one of
-- their rows. Searches of several words, or with filters, still count over their matched rows
-- (lib/product-search.ts).
--
-- One row per lexeme, facet and value: facet is 'category' (value: the full category path),
-- 'price_range', 'rating' (the rating bucket), 'in_stock' ('true'/'false'; the two add up to the
-- word's total) or 'seller' (value: the seller id, label: the seller's name). Each product
-- counts once per distinct lexeme of its search_vector, as `search_vector @@ 'lexeme'` counts it.
-- Only active products count. Rows that fall to 0 stay (the query skips them).
CREATE TABLE read_models.product_search_term_facets (
    lexeme TEXT NOT NULL,
    facet VARCHAR(20) NOT NULL,
    value VARCHAR(500) NOT NULL,
    label VARCHAR(200),
    products INTEGER NOT NULL,
    PRIMARY KEY (lexeme, facet, value)
);

-- The existing catalogue, counted once (a few million (word, value) groups at a million
-- products: hashed in memory rather than spilled in 4 MB batches; the migration is one transaction).
SET LOCAL work_mem = '256MB';
INSERT INTO read_models.product_search_term_facets (lexeme, facet, value, label, products)
SELECT l.lexeme, f.facet, f.value, max(f.label COLLATE "C"), count(*)::int
FROM read_models.product_search_view v
CROSS JOIN LATERAL unnest(tsvector_to_array(v.search_vector)) AS l(lexeme)
CROSS JOIN LATERAL (VALUES
    ('category', v.category_path::text, NULL::text),
    ('price_range', v.price_range::text, NULL),
    ('rating', v.rating_bucket::text, NULL),
    ('in_stock', v.in_stock::text, NULL),
    ('seller', v.seller_id::text, v.seller_name::text)
) AS f(facet, value, label)
WHERE v.active
GROUP BY l.lexeme, f.facet, f.value;

ANALYZE read_models.product_search_term_facets;
