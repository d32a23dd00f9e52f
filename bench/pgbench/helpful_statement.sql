-- PUT /reviews/:id/helpful exactly as the service sends it: one statement
-- that votes and notifies (queries.markHelpful), in its own transaction.
\set r random(:lo, :hi)
WITH voted AS (
    UPDATE reviews SET helpfulness = helpfulness + 1 WHERE id = :r RETURNING product_id
), notified AS (
    SELECT pg_notify('catwalk_invalidate', product_id::text) FROM voted
)
SELECT product_id, (SELECT count(*) FROM notified) FROM voted;
