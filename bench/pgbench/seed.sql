-- Benchmark fixture for the write API, shared by pgbench and the Go
-- benchmarks (handlers/write_timing_test.go): products 5000001..5001000,
-- each with two characteristics and one review to vote on. Runs on a
-- migrated database; running it twice adds nothing.
INSERT INTO characteristics (product_id, name)
SELECT p, n FROM generate_series(5000001, 5001000) AS p, unnest(ARRAY['Fit', 'Length']) AS n
WHERE NOT EXISTS (SELECT FROM characteristics WHERE product_id = 5000001);

INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email)
SELECT p, 4, date_trunc('milliseconds', now()), 'seed', repeat('b', 60), true, 'seed', 'seed@example.com'
FROM generate_series(5000001, 5001000) AS p
WHERE NOT EXISTS (SELECT FROM reviews WHERE product_id = 5000001 AND summary = 'seed');
