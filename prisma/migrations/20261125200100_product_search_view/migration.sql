-- product_search_view: the catalogue as the product search reads it (GET /v1/products/search),
-- projected from product and order events by lib/projections/product-search.ts. One row per
-- product; only active rows are searchable, so every index below is partial on `active` and every
-- search query says `WHERE active`.

-- levenshtein_less_equal() for spelling correction (lib/product-search-spelling.ts).
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

CREATE TABLE read_models.product_search_view (
    product_id UUID NOT NULL PRIMARY KEY,
    seller_id UUID NOT NULL,
    seller_name VARCHAR(200) NOT NULL,
    sku VARCHAR(64) NOT NULL,
    name VARCHAR(300) NOT NULL,
    description TEXT NOT NULL,
    category_path VARCHAR(500) NOT NULL,
    -- The top-level category, for display; filters match on category_path by prefix.
    category VARCHAR(500) GENERATED ALWAYS AS (split_part(category_path, '/', 1)) STORED,
    price_minor BIGINT NOT NULL,
    currency CHAR(3) NOT NULL,
    -- Bucket labels are computed by the projection from one table of buckets
    -- (lib/product-search-buckets.ts), the same one the query validates `priceRange` against.
    price_range VARCHAR(20) NOT NULL,
    rating_sum INTEGER NOT NULL,
    review_count INTEGER NOT NULL,
    average_rating NUMERIC(3, 2),
    rating_bucket VARCHAR(10) NOT NULL,
    sales_count INTEGER NOT NULL,
    -- on_hand - reserved, re-read from the write model's inventory on every stock-changing event.
    available INTEGER NOT NULL,
    in_stock BOOLEAN GENERATED ALWAYS AS (available > 0) STORED,
    active BOOLEAN NOT NULL,
    -- Name weighs most, then where it sits (category words, with '/' as a word break) and who sells
    -- it, then the description. The english configuration stems, so "chairs" finds "chair".
    search_vector TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, name), 'A')
        || setweight(to_tsvector('english'::regconfig, replace(category_path, '/', ' ') || ' ' || seller_name), 'B')
        || setweight(to_tsvector('english'::regconfig, description), 'C')
    ) STORED,
    updated_at TIMESTAMPTZ(3) NOT NULL
);

CREATE INDEX product_search_view_vector_idx ON read_models.product_search_view USING gin (search_vector) WHERE active;
-- `category = 'home'` matches 'home' and 'home/...': equality or LIKE 'home/%' (pattern ops, as the
-- database's collation is not "C").
CREATE INDEX product_search_view_category_idx ON read_models.product_search_view (category_path varchar_pattern_ops) WHERE active;
CREATE INDEX product_search_view_seller_idx ON read_models.product_search_view (seller_id) WHERE active;
-- One index per sort, with product_id as the tie-break in the same direction, so a keyset page
-- starts with a row comparison `(key, product_id) < (…)` right where the cursor points. Descending
-- sorts scan the same indexes backwards.
CREATE INDEX product_search_view_price_idx ON read_models.product_search_view (price_minor, product_id) WHERE active;
CREATE INDEX product_search_view_rating_idx
    ON read_models.product_search_view ((COALESCE(average_rating, 0)), review_count, product_id) WHERE active;
CREATE INDEX product_search_view_sales_idx ON read_models.product_search_view (sales_count, product_id) WHERE active;

-- The search's vocabulary, for spelling correction (the approach of PostgreSQL's documentation,
-- "Text Search: Additional Features": a word list from ts_stat with pg_trgm on it, here kept by
-- the projection as words arrive). A query word whose stem is not here is replaced by the nearest
-- word that is. Kept insert-only: a word that left every product still corrects to itself and
-- finds nothing, which is harmless; a rebuild starts it afresh.
CREATE TABLE read_models.product_search_words (
    word VARCHAR(100) NOT NULL PRIMARY KEY,
    -- Its english stem: what a query word is looked up by ("chairs" is known through "chair").
    lexeme VARCHAR(100) NOT NULL,
    -- How many product texts brought the word (never decremented): breaks ties between equally near corrections.
    occurrences INTEGER NOT NULL
);
CREATE INDEX product_search_words_lexeme_idx ON read_models.product_search_words (lexeme);
-- Candidates for a misspelt word: the words of about its length with its first letter (checked
-- with levenshtein_less_equal), and trigram-similar words (for a wrong first letter in longer words).
CREATE INDEX product_search_words_first_letter_idx ON read_models.product_search_words (left(word, 1), length(word));
CREATE INDEX product_search_words_trgm_idx ON read_models.product_search_words USING gin (word gin_trgm_ops);

-- Facet counts of the whole catalogue, kept by the projection beside the view (each batch takes
-- the rows it changes out of the counts before the change and puts them back after it), so that
-- browsing without words (everything, or a category) counts facets from a few thousand summary
-- rows instead of aggregating every product. Searches with words or with other filters count
-- over their filtered rows instead (lib/product-search.ts).
CREATE TABLE read_models.product_search_facet_counts (
    category_path VARCHAR(500) NOT NULL,
    price_range VARCHAR(20) NOT NULL,
    rating_bucket VARCHAR(10) NOT NULL,
    in_stock BOOLEAN NOT NULL,
    products INTEGER NOT NULL,
    PRIMARY KEY (category_path, price_range, rating_bucket, in_stock)
);
CREATE TABLE read_models.product_search_seller_counts (
    seller_id UUID NOT NULL,
    category_path VARCHAR(500) NOT NULL,
    seller_name VARCHAR(200) NOT NULL,
    products INTEGER NOT NULL,
    PRIMARY KEY (seller_id, category_path)
);
