-- ETL staging for reviews: an empty copy without indexes, created in the
-- transaction that COPYs into it (under wal_level=minimal that COPY and the
-- index builds write no WAL); the indexes of 001_init.sql are built after
-- the bulk load, one sort each. Keep in step with the migrations: the etl
-- tests compare the indexes after a load with those of a migrated database.
CREATE TABLE load_reviews (LIKE reviews INCLUDING ALL EXCLUDING INDEXES);
-- indexes
ALTER TABLE load_reviews ADD CONSTRAINT load_reviews_pkey PRIMARY KEY (id);
CREATE INDEX load_reviews_newest_idx   ON load_reviews (product_id, date DESC, id DESC) WHERE NOT reported;
CREATE INDEX load_reviews_helpful_idx  ON load_reviews (product_id, helpfulness DESC, date DESC, id DESC) WHERE NOT reported;
CREATE INDEX load_reviews_relevant_idx ON load_reviews (product_id, score DESC, id DESC) WHERE NOT reported;
