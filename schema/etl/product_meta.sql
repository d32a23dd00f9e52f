-- ETL staging for product_meta (see reviews.sql).
CREATE TABLE load_product_meta (LIKE product_meta INCLUDING ALL EXCLUDING INDEXES);
-- indexes
ALTER TABLE load_product_meta ADD CONSTRAINT load_product_meta_pkey PRIMARY KEY (product_id);
