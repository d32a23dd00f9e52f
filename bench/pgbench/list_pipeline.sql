-- list.sql's statement four times in one pipeline (one Sync, one round
-- trip), for random products: what a batch of four cache misses costs
-- PostgreSQL when concurrent reads share round trips (queries/pipeline.go).
-- Each transaction runs four statements; compare 4 × its tps with list.sql's:
--
--   pgbench -n -M prepared -f bench/pgbench/list_pipeline.sql -D products=1000011 -c 16 -j 2 -T 10 "$DATABASE_URL"
\set p1 random(1, :products)
\set p2 random(1, :products)
\set p3 random(1, :products)
\set p4 random(1, :products)
\set limit 5
\set offset 0
\startpipeline
SELECT id, rating, summary, recommend, response, body, date, reviewer_name, helpfulness, photos
FROM reviews WHERE product_id = :p1 AND NOT reported
ORDER BY score DESC, id DESC LIMIT :limit OFFSET :offset;
SELECT id, rating, summary, recommend, response, body, date, reviewer_name, helpfulness, photos
FROM reviews WHERE product_id = :p2 AND NOT reported
ORDER BY score DESC, id DESC LIMIT :limit OFFSET :offset;
SELECT id, rating, summary, recommend, response, body, date, reviewer_name, helpfulness, photos
FROM reviews WHERE product_id = :p3 AND NOT reported
ORDER BY score DESC, id DESC LIMIT :limit OFFSET :offset;
SELECT id, rating, summary, recommend, response, body, date, reviewer_name, helpfulness, photos
FROM reviews WHERE product_id = :p4 AND NOT reported
ORDER BY score DESC, id DESC LIMIT :limit OFFSET :offset;
\endpipeline
