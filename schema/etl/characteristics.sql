-- ETL staging for characteristics (see reviews.sql).
CREATE TABLE load_characteristics (LIKE characteristics INCLUDING ALL EXCLUDING INDEXES);
-- indexes
ALTER TABLE load_characteristics ADD CONSTRAINT load_characteristics_pkey PRIMARY KEY (id);
CREATE INDEX load_characteristics_product_idx ON load_characteristics (product_id, id);
