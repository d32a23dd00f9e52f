-- POST /reviews as a plain client would write it: the characteristics
-- check, the review with its photos read model, one photo, two
-- characteristic values, both aggregates and the notification, in one
-- transaction. The notification inside the transaction is the design the
-- service left (it serialises every notifying commit of the cluster):
-- post_bare.sql is the same without it, the yardstick for the service now.
-- Run by handlers' BenchmarkPgbenchPost (or by hand:
-- pgbench -n -M prepared -c 8 -j 2 -T 10 -f post.sql DATABASE_URL after seed.sql).
\set p random(5000001, 5001000)
\set rating random(1, 5)
BEGIN;
SELECT min(id) AS c1, max(id) AS c2, count(*) AS n FROM (SELECT id FROM characteristics WHERE product_id = :p ORDER BY id FOR UPDATE) AS c \gset
SELECT nextval(pg_get_serial_sequence('reviews', 'id')) AS rid, nextval(pg_get_serial_sequence('reviews_photos', 'id')) AS pid \gset
INSERT INTO reviews (id, product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email, photos)
VALUES (:rid, :p, :rating, date_trunc('milliseconds', now()), 'Good', 'This is the body of a review, at least fifty characters long.',
        true, 'jo', 'jo@example.com', ('[{"id":' || :pid || ',"url":"https://img.example.com/1.jpg"}]')::json);
INSERT INTO reviews_photos (id, review_id, url) VALUES (:pid, :rid, 'https://img.example.com/1.jpg');
INSERT INTO characteristic_reviews (characteristic_id, review_id, value) VALUES (:c1, :rid, 3), (:c2, :rid, 3);
UPDATE characteristics SET value_sum = value_sum + 3, value_count = value_count + 1 WHERE id IN (:c1, :c2);
INSERT INTO product_meta AS m (product_id, rating_1, rating_2, rating_3, rating_4, rating_5, recommend_false, recommend_true)
VALUES (:p, (:rating = 1)::int, (:rating = 2)::int, (:rating = 3)::int, (:rating = 4)::int, (:rating = 5)::int, 0, 1)
ON CONFLICT (product_id) DO UPDATE SET
    rating_1 = m.rating_1 + EXCLUDED.rating_1, rating_2 = m.rating_2 + EXCLUDED.rating_2,
    rating_3 = m.rating_3 + EXCLUDED.rating_3, rating_4 = m.rating_4 + EXCLUDED.rating_4,
    rating_5 = m.rating_5 + EXCLUDED.rating_5,
    recommend_false = m.recommend_false + EXCLUDED.recommend_false,
    recommend_true = m.recommend_true + EXCLUDED.recommend_true;
SELECT pg_notify('catwalk_invalidate', :p::text);
COMMIT;
