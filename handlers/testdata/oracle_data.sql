-- A random dataset for the oracle test: 300 products with skewed review
-- counts (many none), dates and helpfulness drawn from small sets so the
-- tie-breaks matter, reported reviews, photos whose ids run against their
-- insertion order, duplicate characteristic names, and values biased to 1 so
-- some averages are exactly 1.
SELECT setseed(0.42);

INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reported, reviewer_name, reviewer_email, response, helpfulness)
SELECT p,
       1 + floor(random() * 5)::int,
       timestamptz '2019-01-01 00:00:00+00' + floor(random() * 40)::int * interval '1 day'
                                            + floor(random() * 2)::int * interval '1 millisecond',
       (ARRAY['Great', 'Tom & Jerry <3', E'quote " and \\ backslash', E'line\nbreak\ttab', 'naïve 🙂', ''])[1 + floor(random() * 6)::int],
       repeat('body ', 10 + floor(random() * 20)::int),
       random() < 0.7,
       random() < 0.12,
       'user' || floor(random() * 1000)::int,
       'user@example.com',
       CASE WHEN random() < 0.6 THEN NULL WHEN random() < 0.3 THEN '' ELSE 'Thanks <b>' || p || '</b>' END,
       floor(random() * random() * 12)::int
FROM generate_series(1, 300) p,
     LATERAL generate_series(1, floor(random() * random() * 40)::int + p * 0) n;

INSERT INTO reviews_photos (id, review_id, url)
SELECT 1000000 - row_number() OVER (), r.id, 'https://img.example/' || r.id || '/' || n || '.jpg?a=1&b="2"'
FROM reviews r, LATERAL generate_series(1, floor(random() * 3)::int + r.id * 0) n;

INSERT INTO characteristics (product_id, name)
SELECT p, (ARRAY['Fit', 'Length', 'Comfort', 'Quality', 'Size', 'Width'])[1 + floor(random() * 6)::int]
FROM generate_series(1, 300) p, LATERAL generate_series(1, floor(random() * 5)::int + p * 0) n;

INSERT INTO characteristic_reviews (characteristic_id, review_id, value)
SELECT c.id, r.id, CASE WHEN random() < 0.3 THEN 1 ELSE 1 + floor(random() * 5)::int END
FROM characteristics c JOIN reviews r ON r.product_id = c.product_id
WHERE random() < 0.9;
