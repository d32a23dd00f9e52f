-- PUT /reviews/:id/helpful's database work alone: the vote (the generated
-- score column follows), no notification, on a random seeded review
-- (-D lo=… -D hi=…). The yardstick for the service's writes: the service
-- commits the same statement and announces the product after the commit,
-- many products per notification (package invalidate).
\set r random(:lo, :hi)
UPDATE reviews SET helpfulness = helpfulness + 1 WHERE id = :r;
