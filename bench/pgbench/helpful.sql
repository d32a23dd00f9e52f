-- PUT /reviews/:id/helpful as a plain client would write it: the vote (the
-- generated score column follows) and the notification in one transaction,
-- on a random seeded review (lo/hi: its id range, -D lo=… -D hi=…).
\set r random(:lo, :hi)
BEGIN;
UPDATE reviews SET helpfulness = helpfulness + 1 WHERE id = :r RETURNING product_id AS product \gset
SELECT pg_notify('catwalk_invalidate', :product::text);
COMMIT;
