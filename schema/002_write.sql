-- 002_write: what the write API needs beyond the source tables.

-- Idempotency-Key of POST /reviews: the response of each successful request,
-- remembered so a retry with the same key returns it again and writes nothing.
-- request_hash is the SHA-256 of the raw request body: the same key with other
-- bytes is refused. Rows are inserted in the transaction that creates the
-- review, so neither exists without the other. Every serving instance deletes
-- rows older than 24 hours (see queries.Store.ExpireIdempotencyKeys).
CREATE TABLE idempotency_keys (
    key          text PRIMARY KEY,
    request_hash bytea NOT NULL,
    status       smallint NOT NULL,
    response     bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The janitor deletes by age.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
