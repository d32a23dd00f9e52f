-- ETL staging: empty copies of the loaded tables, without indexes, created in
-- the load's transaction. COPY into a table created in the same transaction
-- writes no WAL under wal_level=minimal, and nothing is visible to the API
-- until switch.sql runs in that same transaction.
CREATE TABLE load_reviews (LIKE reviews INCLUDING ALL EXCLUDING INDEXES);
CREATE TABLE load_reviews_photos (LIKE reviews_photos INCLUDING ALL EXCLUDING INDEXES);
CREATE TABLE load_characteristics (LIKE characteristics INCLUDING ALL EXCLUDING INDEXES);
CREATE TABLE load_characteristic_reviews (LIKE characteristic_reviews INCLUDING ALL EXCLUDING INDEXES);
CREATE TABLE load_product_meta (LIKE product_meta INCLUDING ALL EXCLUDING INDEXES);
