-- ETL: staging tables a failed or interrupted load may have left behind.
-- They are never served; the next load starts by dropping them.
DROP TABLE IF EXISTS load_reviews, load_reviews_photos, load_characteristics, load_characteristic_reviews, load_product_meta;
