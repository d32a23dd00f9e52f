-- The statement behind a cache miss of GET /reviews?product_id=N: the first
-- page of 5 in the default "relevant" order, served by reviews_relevant_idx.
-- It is the relevant-order statement of queries/read.go, byte for byte
-- (list_test.go checks), with its LIMIT and OFFSET as parameters as the
-- service sends them.
--
--   pgbench -n -M prepared -f bench/pgbench/list.sql -D products=1000011 -c 64 -j 2 -T 10 "$DATABASE_URL"
\set product_id random(1, :products)
\set limit 5
\set offset 0
SELECT id, rating, summary, recommend, response, body, date, reviewer_name, helpfulness, photos
FROM reviews WHERE product_id = :product_id AND NOT reported
ORDER BY score DESC, id DESC LIMIT :limit OFFSET :offset;
