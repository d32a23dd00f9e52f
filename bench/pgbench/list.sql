-- The statement behind a cache miss of GET /reviews?product_id=N: the first
-- page of 5 in the default "relevant" order, served by reviews_relevant_idx.
-- Keep it in step with the relevant-order statement in queries/read.go.
--
--   pgbench -n -M prepared -f bench/pgbench/list.sql -D products=1000011 -c 64 -j 2 -T 10 "$DATABASE_URL"
\set product_id random(1, :products)
SELECT id, rating, summary, recommend, response, body, date, reviewer_name, helpfulness, photos
FROM reviews
WHERE product_id = :product_id AND NOT reported
ORDER BY score DESC, id DESC
LIMIT 5;
