-- ETL switch-over, in one transaction once every staging table is loaded,
-- indexed and analyzed: the loaded tables replace the
-- served ones at commit, under the names the migrations gave them. Readers
-- see the old data until then and the new data after; never a mix.
-- etl/switch.go runs it after locking the served tables (with a short
-- lock_timeout, retried) and carrying the API's reviews over.
DROP TABLE reviews, reviews_photos, characteristics, characteristic_reviews, product_meta;

ALTER TABLE load_reviews RENAME TO reviews;
ALTER TABLE load_reviews_photos RENAME TO reviews_photos;
ALTER TABLE load_characteristics RENAME TO characteristics;
ALTER TABLE load_characteristic_reviews RENAME TO characteristic_reviews;
ALTER TABLE load_product_meta RENAME TO product_meta;

ALTER SEQUENCE load_reviews_id_seq RENAME TO reviews_id_seq;
ALTER SEQUENCE load_reviews_photos_id_seq RENAME TO reviews_photos_id_seq;
ALTER SEQUENCE load_characteristics_id_seq RENAME TO characteristics_id_seq;
ALTER SEQUENCE load_characteristic_reviews_id_seq RENAME TO characteristic_reviews_id_seq;

-- Every index of the switched-in tables takes its served name: those the
-- staging files build and those etl copies from the served tables (an index
-- a later migration added). One rename for all, so no list of names here
-- can drift from the staging files or the migrations.
DO $$
DECLARE
	n text;
BEGIN
	FOR n IN SELECT c.relname
		FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
		WHERE x.indrelid = ANY (ARRAY['reviews', 'reviews_photos', 'characteristics', 'characteristic_reviews', 'product_meta']::regclass[])
		  AND c.relname LIKE 'load\_%'
		ORDER BY c.relname
	LOOP
		EXECUTE format('ALTER INDEX %I RENAME TO %I', n, substr(n, length('load_') + 1));
	END LOOP;
END $$;

-- Then etl/switch.go sets every identity sequence past the largest id
-- served and every id handed out before, drops the idempotency keys of
-- reviews that are gone and notifies the serving instances.
