-- Recomputes the read model from the source tables with plain SQL, as the
-- ETL must: reviews.photos, product_meta and the characteristic sums, all
-- over non-reported reviews.
UPDATE reviews SET photos = '[]' WHERE photos::text <> '[]';
UPDATE reviews r SET photos = p.photos
FROM (SELECT review_id,
             ('[' || string_agg('{"id":' || id || ',"url":' || to_json(url)::text || '}', ',' ORDER BY id) || ']')::json AS photos
      FROM reviews_photos GROUP BY review_id) p
WHERE p.review_id = r.id;

TRUNCATE product_meta;
INSERT INTO product_meta (product_id, rating_1, rating_2, rating_3, rating_4, rating_5, recommend_false, recommend_true)
SELECT product_id,
       count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = 2),
       count(*) FILTER (WHERE rating = 3), count(*) FILTER (WHERE rating = 4),
       count(*) FILTER (WHERE rating = 5),
       count(*) FILTER (WHERE NOT recommend), count(*) FILTER (WHERE recommend)
FROM reviews WHERE NOT reported GROUP BY product_id;

UPDATE characteristics SET value_sum = 0, value_count = 0;
UPDATE characteristics c SET value_sum = s.total, value_count = s.n
FROM (SELECT cr.characteristic_id AS id, sum(cr.value) AS total, count(*) AS n
      FROM characteristic_reviews cr JOIN reviews r ON r.id = cr.review_id
      WHERE NOT r.reported GROUP BY cr.characteristic_id) s
WHERE s.id = c.id;

ANALYZE;
