-- The bare vote: one UPDATE of a random seeded review (lo/hi: its id range,
-- -D lo=… -D hi=…), no notification, no key. The yardstick of
-- bench/helpful_key.sh.
\set r random(:lo, :hi)
UPDATE reviews SET helpfulness = helpfulness + 1 WHERE id = :r;
