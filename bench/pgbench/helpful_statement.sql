-- PUT /reviews/:id/helpful exactly as the service sends it: one statement
-- (queries.markHelpful), in its own transaction. The product is announced
-- to the other instances after the commit, outside the statement (package
-- invalidate).
\set r random(:lo, :hi)
UPDATE reviews SET helpfulness = helpfulness + 1, api_helpful = api_helpful + 1, api_pending = true WHERE id = :r RETURNING product_id;
