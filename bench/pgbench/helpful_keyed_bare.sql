-- helpful_keyed.sql without the notification: what a keyed vote costs
-- once pg_notify leaves the statement. Compare with helpful_bare.sql.
\set r random(:lo, :hi)
\set k1 random(1, 9223372036854775806)
\set k2 random(1, 9223372036854775806)
WITH target AS (
    SELECT product_id FROM reviews WHERE id = :r
), keyed AS (
    INSERT INTO idempotency_keys (key, request_hash, status, response)
    SELECT :k1 || '-' || :k2, convert_to('PUT /reviews/' || :r || '/helpful', 'UTF8'), 204, ''::bytea FROM target
    ON CONFLICT (key) DO NOTHING
    RETURNING key
), voted AS (
    UPDATE reviews SET helpfulness = helpfulness + 1, api_helpful = api_helpful + 1, api_pending = true
    WHERE id = :r AND EXISTS (SELECT FROM keyed)
    RETURNING product_id
)
SELECT t.product_id, (SELECT count(*) FROM voted) FROM target t;
