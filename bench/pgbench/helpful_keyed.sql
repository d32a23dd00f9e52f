-- PUT /reviews/:id/helpful with an Idempotency-Key exactly as the service
-- sends it when one vote is waiting (queries.markHelpfulBatch with one
-- element): the key inserted in the statement that votes, the vote only if
-- the key was new. The key is random, as NGINX's $request_id is; the
-- service passes the request line as bytea, here it is built in the
-- statement. Compare with helpful_statement.sql (the same without a key).
\set r random(:lo, :hi)
\set k1 random(1, 9223372036854775806)
\set k2 random(1, 9223372036854775806)
WITH input AS (
    SELECT v.review_id, NULLIF(v.key, '') AS key, v.request_hash, v.ord
    FROM unnest(ARRAY[:r]::int4[], ARRAY[:k1 || '-' || :k2]::text[], ARRAY[convert_to('PUT /reviews/' || :r || '/helpful', 'UTF8')]::bytea[]) WITH ORDINALITY AS v (review_id, key, request_hash, ord)
), locked AS (
    SELECT id, product_id FROM reviews
    WHERE id IN (SELECT review_id FROM input) ORDER BY id FOR UPDATE
), keyed AS (
    INSERT INTO idempotency_keys (key, request_hash, status, response)
    SELECT i.key, i.request_hash, 204, ''::bytea
    FROM input i JOIN locked l ON l.id = i.review_id
    WHERE i.key IS NOT NULL ORDER BY i.key
    ON CONFLICT (key) DO NOTHING
    RETURNING key
), counted AS (
    SELECT i.review_id, count(*) AS n FROM input i JOIN locked l ON l.id = i.review_id
    WHERE i.key IS NULL OR i.key IN (SELECT key FROM keyed)
    GROUP BY i.review_id
), voted AS (
    UPDATE reviews r SET helpfulness = r.helpfulness + c.n, api_helpful = r.api_helpful + c.n, api_pending = true
    FROM counted c WHERE r.id = c.review_id
)
SELECT l.product_id, l.id IS NOT NULL AND (i.key IS NULL OR i.key IN (SELECT key FROM keyed))
FROM input i LEFT JOIN locked l ON l.id = i.review_id
ORDER BY i.ord;
