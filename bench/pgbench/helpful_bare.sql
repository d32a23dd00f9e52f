-- PUT /reviews/:id/helpful's vote and nothing else: the UPDATE (the
-- generated score column follows) in its own transaction, without the
-- notification. The yardstick of the write-ratio target (issue 10: votes
-- through the cluster at ≥ 60 % of this at the same concurrency), since a
-- notifying transaction takes a cluster-wide lock at commit and would
-- measure the service against a throttled PostgreSQL; also the yardstick
-- of bench/helpful_key.sh. bench/cluster.sh draws r from as many reviews as bench/load votes on (-D lo=… -D hi=…):
--
--   pgbench -n -M prepared -f bench/pgbench/helpful_bare.sql -D lo=1 -D hi=1000 -c 32 -j 2 -T 10 "$DATABASE_URL"
\set r random(:lo, :hi)
UPDATE reviews SET helpfulness = helpfulness + 1 WHERE id = :r RETURNING product_id;
