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

ALTER INDEX load_reviews_pkey RENAME TO reviews_pkey;
ALTER INDEX load_reviews_photos_pkey RENAME TO reviews_photos_pkey;
ALTER INDEX load_characteristics_pkey RENAME TO characteristics_pkey;
ALTER INDEX load_characteristic_reviews_pkey RENAME TO characteristic_reviews_pkey;
ALTER INDEX load_product_meta_pkey RENAME TO product_meta_pkey;
ALTER INDEX load_reviews_newest_idx RENAME TO reviews_newest_idx;
ALTER INDEX load_reviews_helpful_idx RENAME TO reviews_helpful_idx;
ALTER INDEX load_reviews_relevant_idx RENAME TO reviews_relevant_idx;
ALTER INDEX load_characteristics_product_idx RENAME TO characteristics_product_idx;
ALTER INDEX load_characteristic_reviews_review_idx RENAME TO characteristic_reviews_review_idx;
ALTER INDEX load_reviews_api_idx RENAME TO reviews_api_idx;
ALTER INDEX load_reviews_api_votes_idx RENAME TO reviews_api_votes_idx;

-- Then etl/switch.go sets every identity sequence past the largest id
-- served and every id handed out before, drops the idempotency keys of
-- reviews that are gone and notifies the serving instances.
