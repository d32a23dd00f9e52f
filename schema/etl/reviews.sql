-- ETL staging for reviews: an empty copy without indexes, created in the
-- transaction that COPYs into it (under wal_level=minimal that COPY and the
-- index builds write no WAL); the indexes of 001_init.sql are built after
-- the bulk load, one sort each. An index of the served table that these
-- files do not name (a later migration's) is built too, from its definition
-- (etl/indexes.go); the etl tests check a load keeps every index.
CREATE TABLE load_reviews (LIKE reviews INCLUDING ALL EXCLUDING INDEXES);
-- indexes
ALTER TABLE load_reviews ADD CONSTRAINT load_reviews_pkey PRIMARY KEY (id);
CREATE INDEX load_reviews_newest_idx   ON load_reviews (product_id, date DESC, id DESC) WHERE NOT reported;
CREATE INDEX load_reviews_helpful_idx  ON load_reviews (product_id, helpfulness DESC, date DESC, id DESC) WHERE NOT reported;
CREATE INDEX load_reviews_relevant_idx ON load_reviews (product_id, score DESC, id DESC) WHERE NOT reported;
CREATE INDEX load_reviews_api_idx      ON load_reviews (id) WHERE via_api;
CREATE INDEX load_reviews_api_votes_idx ON load_reviews (id) WHERE api_pending AND NOT via_api;
