-- 004_api_votes: the helpful votes and reports made through the API on a
-- review, so a load can carry them over to the loaded review with the same
-- id (etl/carry.go) instead of letting the file's values win. The export
-- comes from the legacy system and never holds them.
--
-- api_helpful counts the API's votes (helpfulness holds them too) and
-- api_reported says the API reported the review (it flipped reported). A
-- load sets helpfulness to the file's value plus api_helpful and reported to
-- the file's value or api_reported, and keeps both columns, so the votes are
-- carried again at every later load. api_pending is set by every vote and
-- report and cleared by a load: it marks the reviews the API changed since
-- the last load. Rows that exist when this migration runs start at 0 and
-- false (their votes' origin is unknown). Constant defaults: adding the
-- columns rewrites nothing.
ALTER TABLE reviews ADD COLUMN api_helpful integer NOT NULL DEFAULT 0,
                    ADD COLUMN api_reported boolean NOT NULL DEFAULT false,
                    ADD COLUMN api_pending boolean NOT NULL DEFAULT false;

-- The switch-over finds, with the tables locked, the loaded reviews the API
-- voted on or reported since the last load through this index (the bulk was
-- carried before it, outside the locks; the API's own reviews are carried
-- whole through reviews_api_idx). It holds only those reviews, so it stays
-- as small as the writes between two loads: api_helpful > 0 would keep
-- every review the API ever voted on. Its cost to a vote is small: a vote
-- already changes helpfulness and score, which other indexes hold, so it is
-- never a HOT update and inserts into every index anyway; this one adds one
-- more entry, on a loaded review's votes and reports only.
CREATE INDEX reviews_api_votes_idx ON reviews (id) WHERE api_pending AND NOT via_api;
