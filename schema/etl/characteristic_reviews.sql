-- ETL staging for characteristic_reviews (see reviews.sql).
CREATE TABLE load_characteristic_reviews (LIKE characteristic_reviews INCLUDING ALL EXCLUDING INDEXES);
-- indexes
ALTER TABLE load_characteristic_reviews ADD CONSTRAINT load_characteristic_reviews_pkey PRIMARY KEY (id);
CREATE INDEX load_characteristic_reviews_review_idx ON load_characteristic_reviews (review_id);
