-- 003_etl_origin: which reviews were written through the API, so a load can
-- carry them over (etl/carry.go) instead of dropping them.
--
-- via_api is false for every row a load writes (the ETL copies it as false)
-- and true for every row inserted without naming it: POST /reviews, and the
-- ETL's own carry-over. Rows that exist when this migration runs count as
-- loaded (their origin is unknown; before it, a load dropped API writes).
-- Adding the column with a constant default rewrites nothing; only the
-- default for new rows is true.
ALTER TABLE reviews ADD COLUMN via_api boolean NOT NULL DEFAULT false;
ALTER TABLE reviews ALTER COLUMN via_api SET DEFAULT true;

-- The switch-over finds the API's reviews through this index while it holds
-- the tables' locks: it holds only those rows, a few thousand at most.
CREATE INDEX reviews_api_idx ON reviews (id) WHERE via_api;
