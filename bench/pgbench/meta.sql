-- The statement behind a cache miss of GET /reviews/meta?product_id=N:
-- product_meta by its primary key and the product's characteristics in id
-- order. Keep it in step with metaSQL in queries/read.go (list_test.go
-- checks they are the same statement).
--
--   pgbench -n -M prepared -f bench/pgbench/meta.sql -D products=1000011 -c 64 -j 2 -T 10 "$DATABASE_URL"
\set product_id random(1, :products)
SELECT m.rating_1, m.rating_2, m.rating_3, m.rating_4, m.rating_5,
       m.recommend_false, m.recommend_true,
       c.id, c.name, c.value_sum, c.value_count
FROM (VALUES (:product_id::integer)) AS p (product_id)
LEFT JOIN product_meta m ON m.product_id = p.product_id
LEFT JOIN characteristics c ON c.product_id = p.product_id
ORDER BY c.id;
