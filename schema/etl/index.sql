-- ETL: the indexes of 001_init.sql on the staging tables, built after the
-- bulk load (one sort each instead of one insertion per row). Keep in step
-- with the migrations: the etl tests compare the two sets of indexes.
ALTER TABLE load_reviews ADD CONSTRAINT load_reviews_pkey PRIMARY KEY (id);
ALTER TABLE load_reviews_photos ADD CONSTRAINT load_reviews_photos_pkey PRIMARY KEY (id);
ALTER TABLE load_characteristics ADD CONSTRAINT load_characteristics_pkey PRIMARY KEY (id);
ALTER TABLE load_characteristic_reviews ADD CONSTRAINT load_characteristic_reviews_pkey PRIMARY KEY (id);
ALTER TABLE load_product_meta ADD CONSTRAINT load_product_meta_pkey PRIMARY KEY (product_id);
CREATE INDEX load_reviews_newest_idx   ON load_reviews (product_id, date DESC, id DESC) WHERE NOT reported;
CREATE INDEX load_reviews_helpful_idx  ON load_reviews (product_id, helpfulness DESC, date DESC, id DESC) WHERE NOT reported;
CREATE INDEX load_reviews_relevant_idx ON load_reviews (product_id, score DESC, id DESC) WHERE NOT reported;
CREATE INDEX load_characteristics_product_idx ON load_characteristics (product_id, id);
CREATE INDEX load_characteristic_reviews_review_idx ON load_characteristic_reviews (review_id);
