-- PUT /reviews/:id/helpful with an Idempotency-Key exactly as the service
-- sends it (queries.markHelpfulKeyed): the key inserted in the statement
-- that votes, the vote only if the key was new, and the notification. The
-- key is random, as NGINX's $request_id is; the service passes the request
-- line as bytea, here it is built in the statement. Compare with
-- helpful_statement.sql (the same without a key).
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
), notified AS (
    SELECT pg_notify('catwalk_invalidate', product_id::text) FROM voted
)
SELECT t.product_id, (SELECT count(*) FROM voted), (SELECT count(*) FROM notified) FROM target t;
