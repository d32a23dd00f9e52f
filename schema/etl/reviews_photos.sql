-- ETL staging for reviews_photos (see reviews.sql).
CREATE TABLE load_reviews_photos (LIKE reviews_photos INCLUDING ALL EXCLUDING INDEXES);
-- indexes
ALTER TABLE load_reviews_photos ADD CONSTRAINT load_reviews_photos_pkey PRIMARY KEY (id);
