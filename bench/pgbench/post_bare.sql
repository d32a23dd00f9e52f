-- POST /reviews as the service sends it — createReview of queries/write.go
-- on its generic plan, both in one round trip and one implicit transaction
-- (a pipeline with one Sync, as pgx's batch) — without pg_notify: the
-- yardstick of the write-ratio target (issue 10: POST through the cluster at
-- ≥ 50 % of this at the same concurrency). Keep it in step with createReview.
--
-- The parameters are bench/load's POST: no photos, no Idempotency-Key, every
-- characteristic meta shows rated. A pgbench script cannot learn a
-- product's characteristic ids without a round trip of its own, so $9/$10
-- (the ids and values) come from the statement itself: every shown
-- characteristic, all with one random value. The product is random in lo..hi:
--
--   pgbench -n -M prepared -f bench/pgbench/post_bare.sql -D lo=1 -D hi=50 -c 32 -j 2 -T 10 "$DATABASE_URL"
\set p random(:lo, :hi)
\set rating random(1, 5)
\set value random(1, 5)
\set recommend random(0, 1)
\startpipeline
SELECT set_config('plan_cache_mode', 'force_generic_plan', true);
WITH prior AS (
    SELECT request_hash, status, response FROM idempotency_keys WHERE key = NULL::text
), chars AS (
    SELECT id, name FROM characteristics WHERE product_id = :p ORDER BY id FOR UPDATE
), shown AS (
    SELECT DISTINCT ON (name) id FROM chars ORDER BY name, id
), input AS (
    SELECT id AS cid, (:value)::int2 AS val FROM shown
), verdict AS (
    SELECT count(*) AS n, count(i.cid) AS rated FROM shown c LEFT JOIN input i ON i.cid = c.id
), fresh AS (
    SELECT nextval(pg_get_serial_sequence('reviews', 'id'))::int4 AS id,
           date_trunc('milliseconds', now()) AS date
    FROM verdict v
    WHERE v.n > 0 AND v.rated = v.n AND v.n = (SELECT count(*) FROM input)
      AND NOT EXISTS (SELECT FROM prior)
), keyed AS (
    INSERT INTO idempotency_keys (key, request_hash, status, response)
    SELECT NULL::text, NULL::bytea, 201, convert_to('{"review_id":' || f.id || '}', 'UTF8')
    FROM fresh f WHERE NULL::text IS NOT NULL
    ON CONFLICT (key) DO NOTHING
    RETURNING key
), accepted AS (
    SELECT f.id, f.date FROM fresh f WHERE NULL::text IS NULL OR EXISTS (SELECT FROM keyed)
), photo_ids AS (
    SELECT id, row_number() OVER (ORDER BY id) AS ord
    FROM (SELECT nextval(pg_get_serial_sequence('reviews_photos', 'id'))::int4 AS id
          FROM accepted, generate_series(1, cardinality('{}'::text[]))) AS s
), photo_rows AS (
    SELECT p.id, u.url FROM photo_ids p JOIN unnest('{}'::text[]) WITH ORDINALITY AS u (url, ord) ON u.ord = p.ord
), review AS (
    INSERT INTO reviews (id, product_id, rating, date, summary, body, recommend,
                         reviewer_name, reviewer_email, photos)
    SELECT a.id, :p, :rating, a.date, 'Load test review',
           'Written by the load test: the fabric held up well and the fit was as described on the product page.',
           (:recommend = 1), 'loadtest', 'loadtest@example.com',
           COALESCE((SELECT '[' || string_agg('{"id":' || p.id || ',"url":' || to_json(p.url)::text || '}', ',' ORDER BY p.id) || ']'
                     FROM photo_rows p), '[]')::json
    FROM accepted a
    RETURNING id
), photos AS (
    INSERT INTO reviews_photos (id, review_id, url)
    SELECT p.id, a.id, p.url FROM photo_rows p, accepted a
), rated AS (
    INSERT INTO characteristic_reviews (characteristic_id, review_id, value)
    SELECT i.cid, a.id, i.val FROM input i, accepted a
), sums AS (
    UPDATE characteristics c SET value_sum = c.value_sum + i.val, value_count = c.value_count + 1
    FROM input i, accepted a WHERE c.id = i.cid
), meta AS (
    INSERT INTO product_meta AS m (product_id, rating_1, rating_2, rating_3, rating_4, rating_5,
                                   recommend_false, recommend_true)
    SELECT :p, (:rating = 1)::int, (:rating = 2)::int, (:rating = 3)::int, (:rating = 4)::int, (:rating = 5)::int,
           (:recommend = 0)::int, (:recommend = 1)::int
    FROM accepted
    ON CONFLICT (product_id) DO UPDATE SET
        rating_1 = m.rating_1 + EXCLUDED.rating_1, rating_2 = m.rating_2 + EXCLUDED.rating_2,
        rating_3 = m.rating_3 + EXCLUDED.rating_3, rating_4 = m.rating_4 + EXCLUDED.rating_4,
        rating_5 = m.rating_5 + EXCLUDED.rating_5,
        recommend_false = m.recommend_false + EXCLUDED.recommend_false,
        recommend_true = m.recommend_true + EXCLUDED.recommend_true
)
SELECT (SELECT id FROM review), (SELECT n FROM verdict), EXISTS (SELECT FROM fresh),
       0::bigint, p.request_hash, p.status, p.response
FROM (SELECT 1) AS one LEFT JOIN prior p ON true;
\endpipeline
