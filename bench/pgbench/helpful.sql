-- PUT /reviews/:id/helpful as a plain client would have written it when
-- every write notified: the vote (the generated score column follows) and
-- the notification in one transaction, on a random seeded review (lo/hi:
-- its id range, -D lo=… -D hi=…). PostgreSQL serialises the commits of
-- notifying transactions cluster-wide, so this measures the throttled
-- figure; the service no longer notifies inside writes, and its yardstick
-- is helpful_bare.sql (the bare UPDATE).
\set r random(:lo, :hi)
BEGIN;
UPDATE reviews SET helpfulness = helpfulness + 1 WHERE id = :r RETURNING product_id AS product \gset
SELECT pg_notify('catwalk_invalidate', :product::text);
COMMIT;
