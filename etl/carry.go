package etl

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Carrying the API's writes over a load. Reviews written through the API
// (reviews.via_api, schema/004_etl_origin.sql) that the loaded files do not
// hold are copied into the staging tables at the switch-over, whole: their
// helpfulness, reported flag and photos as served, their characteristic
// values, and their share of product_meta and of the characteristic sums.
// Their ids stay (the loaded ids are checked: a file row with the same id
// wins and the API's review goes); a photo or value whose id the files now
// use gets a new one past every id handed out. A value whose characteristic
// is not in the loaded data for the review's product is dropped with it.
// Helpful votes and reports made through the API on loaded reviews are not
// carried: the files' values win.
//
// Every statement finds the carried rows by id (reviews_api_idx, the
// primary keys, characteristic_reviews_review_idx), never by a scan, since
// the served tables are locked meanwhile.

// carryReviews copies the API's reviews the files do not hold.
const carryReviews = `INSERT INTO load_reviews (id, product_id, rating, date, summary, body, recommend, reported,
                          reviewer_name, reviewer_email, response, helpfulness, photos, via_api)
SELECT r.id, r.product_id, r.rating, r.date, r.summary, r.body, r.recommend, r.reported,
       r.reviewer_name, r.reviewer_email, r.response, r.helpfulness, r.photos, true
FROM reviews r
WHERE r.via_api AND NOT EXISTS (SELECT FROM load_reviews l WHERE l.id = r.id)
RETURNING id`

// carryPhotos copies the carried reviews' photos from their photos JSON
// (the old photos table has no index by review), renumbering a photo whose
// id the files use, and rewrites the JSON of the reviews it renumbered.
// $1: the carried review ids; $2: the largest photo id used or handed out.
const carryPhotos = `WITH e AS (
    SELECT r.id AS rid, (x->>'id')::int4 AS pid, x->>'url' AS url
    FROM load_reviews r, json_array_elements(r.photos) x
    WHERE r.id = ANY ($1::int4[])
), n AS (
    SELECT rid, pid, url,
           CASE WHEN EXISTS (SELECT FROM load_reviews_photos l WHERE l.id = e.pid)
                THEN ($2::bigint + row_number() OVER (ORDER BY pid))::int4 ELSE pid END AS id
    FROM e
), ins AS (
    INSERT INTO load_reviews_photos (id, review_id, url) SELECT id, rid, url FROM n
)
UPDATE load_reviews r
SET photos = (SELECT '[' || string_agg('{"id":' || n.id || ',"url":' || to_json(n.url)::text || '}', ',' ORDER BY n.id) || ']'
              FROM n WHERE n.rid = r.id)::json
WHERE r.id IN (SELECT rid FROM n WHERE n.id <> n.pid)`

// carryValues copies the carried reviews' characteristic values whose
// characteristic the loaded data has, for the review's product.
// $1: the carried review ids; $2: the largest value id used or handed out.
const carryValues = `INSERT INTO load_characteristic_reviews (id, characteristic_id, review_id, value)
SELECT CASE WHEN EXISTS (SELECT FROM load_characteristic_reviews l WHERE l.id = cr.id)
            THEN ($2::bigint + row_number() OVER (ORDER BY cr.id))::int4 ELSE cr.id END,
       cr.characteristic_id, cr.review_id, cr.value
FROM characteristic_reviews cr
JOIN load_reviews r ON r.id = cr.review_id
JOIN load_characteristics c ON c.id = cr.characteristic_id AND c.product_id = r.product_id
WHERE cr.review_id = ANY ($1::int4[])`

// carrySums adds the carried non-reported reviews' values to the sums.
const carrySums = `UPDATE load_characteristics c
SET value_sum = c.value_sum + s.total, value_count = c.value_count + s.n
FROM (SELECT cr.characteristic_id, sum(cr.value) AS total, count(*)::int4 AS n
      FROM load_characteristic_reviews cr JOIN load_reviews r ON r.id = cr.review_id
      WHERE cr.review_id = ANY ($1::int4[]) AND NOT r.reported
      GROUP BY 1) s
WHERE c.id = s.characteristic_id`

// carryMeta adds the carried reviews to their products' counts (a product
// gets its row even when all its carried reviews are reported, as a load
// gives every product with a review one).
const carryMeta = `INSERT INTO load_product_meta AS m (product_id, rating_1, rating_2, rating_3, rating_4, rating_5,
                                     recommend_false, recommend_true)
SELECT product_id,
       count(*) FILTER (WHERE NOT reported AND rating = 1), count(*) FILTER (WHERE NOT reported AND rating = 2),
       count(*) FILTER (WHERE NOT reported AND rating = 3), count(*) FILTER (WHERE NOT reported AND rating = 4),
       count(*) FILTER (WHERE NOT reported AND rating = 5),
       count(*) FILTER (WHERE NOT reported AND NOT recommend), count(*) FILTER (WHERE NOT reported AND recommend)
FROM load_reviews WHERE id = ANY ($1::int4[])
GROUP BY product_id
ON CONFLICT (product_id) DO UPDATE SET
    rating_1 = m.rating_1 + EXCLUDED.rating_1, rating_2 = m.rating_2 + EXCLUDED.rating_2,
    rating_3 = m.rating_3 + EXCLUDED.rating_3, rating_4 = m.rating_4 + EXCLUDED.rating_4,
    rating_5 = m.rating_5 + EXCLUDED.rating_5,
    recommend_false = m.recommend_false + EXCLUDED.recommend_false,
    recommend_true = m.recommend_true + EXCLUDED.recommend_true`

// carryOver copies the API's reviews into the staging tables (see above)
// and returns how many it carried. floors holds, per table, the largest id
// served or handed out before this load.
func carryOver(ctx context.Context, tx pgx.Tx, floors map[string]int64) (int64, error) {
	rows, err := tx.Query(ctx, carryReviews)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	// New ids for renumbered rows start past everything: the old ids and
	// the loaded ones.
	var photoBase, valueBase int64
	if err := tx.QueryRow(ctx, `SELECT greatest($1::bigint, (SELECT coalesce(max(id), 0) FROM load_reviews_photos)),
		greatest($2::bigint, (SELECT coalesce(max(id), 0) FROM load_characteristic_reviews))`,
		floors["reviews_photos"], floors["characteristic_reviews"]).Scan(&photoBase, &valueBase); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, carryPhotos, ids, photoBase); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, carryValues, ids, valueBase); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, carrySums, ids); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, carryMeta, ids); err != nil {
		return 0, err
	}
	return int64(len(ids)), nil
}
