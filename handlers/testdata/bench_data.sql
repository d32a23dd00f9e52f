-- Data for the read benchmarks: 20,000 products shaped like the full-scale
-- export (about 5.8 reviews, 2.7 photos per 5.8 reviews, 3.3
-- characteristics per product), generated deterministically.
SELECT setseed(0.5);

INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reported, reviewer_name, reviewer_email, response, helpfulness)
SELECT p, 1 + floor(random() * 5)::int,
       timestamptz '2020-01-01 00:00:00+00' + random() * interval '600 days',
       'A summary of about thirty chars',
       repeat('Some body text for the review. ', 3 + floor(random() * 10)::int),
       random() < 0.7, random() < 0.05, 'reviewer' || p, 'r@example.com',
       CASE WHEN random() < 0.8 THEN NULL ELSE 'Thanks for the review' END,
       floor(random() * 30)::int
FROM generate_series(1, 20000) p, LATERAL generate_series(1, floor(random() * 11.6)::int + p * 0) n;

INSERT INTO reviews_photos (review_id, url)
SELECT r.id, 'https://images.example.com/photo-' || r.id || '-' || n || '?ixlib=rb-1.2.1&auto=format&fit=crop&w=975&q=80'
FROM reviews r, LATERAL generate_series(1, CASE WHEN random() < 0.3 THEN 1 + floor(random() * 2)::int ELSE 0 END + r.id * 0) n;

INSERT INTO characteristics (product_id, name)
SELECT p, (ARRAY['Fit', 'Length', 'Comfort', 'Quality', 'Size', 'Width'])[n]
FROM generate_series(1, 20000) p, LATERAL generate_series(1, 2 + floor(random() * 3)::int + p * 0) n;

INSERT INTO characteristic_reviews (characteristic_id, review_id, value)
SELECT c.id, r.id, 1 + floor(random() * 5)::int
FROM characteristics c JOIN reviews r ON r.product_id = c.product_id;
