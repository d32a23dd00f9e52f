package etl

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Carrying the API's writes over a load. Reviews written through the API
// (reviews.via_api, schema/003_etl_origin.sql) that the loaded files do not
// hold are copied into the staging tables, whole: their helpfulness,
// reported flag and photos as served, their characteristic values, and
// their share of product_meta and of the characteristic sums. Their ids
// stay (a file row with the same id wins and the API's review goes); a
// photo or value whose id the files now use gets a new one past every id
// handed out. A value whose characteristic is not in the loaded data for
// the review's product is dropped with it.
//
// Helpful votes and reports made through the API on loaded reviews
// (reviews.api_helpful and api_reported, schema/004_api_votes.sql) are
// carried to the staging row with the same id: its helpfulness is the
// file's plus api_helpful, it is reported if the file or the API says so
// (a report the file lacks takes the row out of the aggregates), and it
// keeps api_helpful and api_reported, so the next load carries them again
// (the export never holds them); its api_pending is false, as for every
// loaded row. A review the files no longer hold takes its votes with it.
//
// It runs twice. First before the switch-over, in a transaction of its own
// that locks nothing the API uses: it copies every API review there is,
// which may be many (they are carried at every load until an export holds
// them). Then inside the switch-over, with the served tables locked, only
// what changed since: the reviews posted meanwhile are copied, and the
// votes and reports made meanwhile on the reviews already copied are
// applied (a report takes the review out of the aggregates). That second
// pass inserts only the new rows and otherwise looks rows up by index
// (reviews_api_idx, the primary keys, the review_id indexes), never scans.
// The votes and reports on loaded reviews go the same way (resync, both
// times): the first pass carries them all (finding them takes a scan of
// reviews, outside the locks); the second adds what the API did since,
// looking only at the reviews it voted on or reported since the last load
// (api_pending, through reviews_api_votes_idx) and the primary key.

// carriedTable holds the ids of the reviews one pass copies; the statements
// after the copy join it.
const carriedTable = `CREATE TEMP TABLE etl_carried (id int4 PRIMARY KEY) ON COMMIT DROP`

// carryReviews copies the API's reviews the staging table does not hold.
const carryReviews = `WITH ins AS (
    INSERT INTO load_reviews (id, product_id, rating, date, summary, body, recommend, reported,
                              reviewer_name, reviewer_email, response, helpfulness, photos, via_api,
                              api_helpful, api_reported)
    SELECT r.id, r.product_id, r.rating, r.date, r.summary, r.body, r.recommend, r.reported,
           r.reviewer_name, r.reviewer_email, r.response, r.helpfulness, r.photos, true,
           r.api_helpful, r.api_reported
    FROM reviews r
    WHERE r.via_api AND NOT EXISTS (SELECT FROM load_reviews l WHERE l.id = r.id)
    RETURNING id
)
INSERT INTO etl_carried SELECT id FROM ins`

// carryPhotos copies the carried reviews' photos from their photos JSON
// (the old photos table has no index by review), renumbering a photo whose
// id the staging table holds, and rewrites the JSON of the reviews it
// renumbered. $1: the largest photo id used or handed out.
const carryPhotos = `WITH e AS (
    SELECT r.id AS rid, (x->>'id')::int4 AS pid, x->>'url' AS url
    FROM etl_carried k JOIN load_reviews r ON r.id = k.id, json_array_elements(r.photos) x
), n AS (
    SELECT rid, pid, url,
           CASE WHEN EXISTS (SELECT FROM load_reviews_photos l WHERE l.id = e.pid)
                THEN ($1::bigint + row_number() OVER (ORDER BY pid))::int4 ELSE pid END AS id
    FROM e
), ins AS (
    INSERT INTO load_reviews_photos (id, review_id, url) SELECT id, rid, url FROM n
)
UPDATE load_reviews r SET photos = j.photos::json
FROM (SELECT rid, '[' || string_agg('{"id":' || id || ',"url":' || to_json(url)::text || '}', ',' ORDER BY id) || ']' AS photos
      FROM n GROUP BY rid HAVING bool_or(id <> pid)) j
WHERE r.id = j.rid`

// carryValues copies the carried reviews' characteristic values whose
// characteristic the loaded data has, for the review's product.
// $1: the largest value id used or handed out.
const carryValues = `INSERT INTO load_characteristic_reviews (id, characteristic_id, review_id, value)
SELECT CASE WHEN EXISTS (SELECT FROM load_characteristic_reviews l WHERE l.id = cr.id)
            THEN ($1::bigint + row_number() OVER (ORDER BY cr.id))::int4 ELSE cr.id END,
       cr.characteristic_id, cr.review_id, cr.value
FROM etl_carried k
JOIN load_reviews r ON r.id = k.id
JOIN characteristic_reviews cr ON cr.review_id = r.id
JOIN load_characteristics c ON c.id = cr.characteristic_id AND c.product_id = r.product_id`

// carrySums adds the carried non-reported reviews' values to the sums.
const carrySums = `UPDATE load_characteristics c
SET value_sum = c.value_sum + s.total, value_count = c.value_count + s.n
FROM (SELECT cr.characteristic_id, sum(cr.value) AS total, count(*)::int4 AS n
      FROM etl_carried k JOIN load_reviews r ON r.id = k.id
      JOIN load_characteristic_reviews cr ON cr.review_id = r.id
      WHERE NOT r.reported
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
FROM etl_carried k JOIN load_reviews r ON r.id = k.id
GROUP BY product_id
ON CONFLICT (product_id) DO UPDATE SET
    rating_1 = m.rating_1 + EXCLUDED.rating_1, rating_2 = m.rating_2 + EXCLUDED.rating_2,
    rating_3 = m.rating_3 + EXCLUDED.rating_3, rating_4 = m.rating_4 + EXCLUDED.rating_4,
    rating_5 = m.rating_5 + EXCLUDED.rating_5,
    recommend_false = m.recommend_false + EXCLUDED.recommend_false,
    recommend_true = m.recommend_true + EXCLUDED.recommend_true`

// carryOver copies the API's reviews that the staging tables do not hold
// yet (see above) and returns how many it copied. floors holds, per table,
// the largest id served or handed out so far.
func carryOver(ctx context.Context, tx pgx.Tx, floors map[string]int64) (int64, error) {
	if _, err := tx.Exec(ctx, carriedTable); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, carryReviews)
	if err != nil || tag.RowsAffected() == 0 {
		return 0, err
	}
	// Its size decides between index lookups (a few new reviews, inside the
	// switch-over) and one pass over a table (many, before it).
	if _, err := tx.Exec(ctx, "ANALYZE etl_carried"); err != nil {
		return 0, err
	}
	// New ids for renumbered rows start past everything: the old ids and
	// the staged ones.
	var photoBase, valueBase int64
	if err := tx.QueryRow(ctx, `SELECT greatest($1::bigint, (SELECT coalesce(max(id), 0) FROM load_reviews_photos)),
		greatest($2::bigint, (SELECT coalesce(max(id), 0) FROM load_characteristic_reviews))`,
		floors["reviews_photos"], floors["characteristic_reviews"]).Scan(&photoBase, &valueBase); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, carryPhotos, photoBase); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, carryValues, valueBase); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, carrySums); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, carryMeta); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// The votes and reports made on carried reviews since they were copied.
// The staging table's via_api rows are the carried ones; each is looked up
// by primary key in the served table (naming reviews.via_api too would let
// the planner pair the two partial indexes in a nested loop: quadratic).
// Reports only ever hide a review (false to true), so a flip takes the
// review out of the aggregates; a vote only changes helpfulness (score
// follows, being generated).
//
// And the API's votes and reports on loaded reviews (see votedLoaded),
// each looked up by primary key in the staging table. The staging row
// holds the API's votes it has been given (api_helpful, 0 for a file row),
// so each pass adds only the difference and a second pass, or a row it did
// not change, adds nothing. A staging
// row with the id of a served loaded review is a file row (the carried ones
// have the ids of served API reviews), and only a report the staging row
// does not show yet flips it.
const (
	flippedTable = `CREATE TEMP TABLE etl_flipped (id int4 PRIMARY KEY) ON COMMIT DROP`
	findFlipped  = `INSERT INTO etl_flipped
SELECT l.id FROM load_reviews l JOIN reviews r ON r.id = l.id
WHERE l.via_api AND NOT l.reported AND r.reported
UNION ALL
SELECT l.id FROM reviews r JOIN load_reviews l ON l.id = r.id
WHERE r.api_reported AND NOT l.via_api AND NOT l.reported AND `
	resyncCarried = `UPDATE load_reviews l SET helpfulness = r.helpfulness, reported = l.reported OR r.reported,
    api_helpful = r.api_helpful, api_reported = l.api_reported OR r.api_reported
FROM reviews r
WHERE l.via_api AND r.id = l.id
  AND (l.helpfulness <> r.helpfulness OR (r.reported AND NOT l.reported))`
	carryVotes = `UPDATE load_reviews l
SET helpfulness = l.helpfulness + (r.api_helpful - l.api_helpful), api_helpful = r.api_helpful,
    reported = l.reported OR r.api_reported, api_reported = l.api_reported OR r.api_reported
FROM reviews r
WHERE l.id = r.id AND NOT l.via_api
  AND (l.api_helpful <> r.api_helpful OR (r.api_reported AND NOT l.api_reported)) AND `
	unMeta = `UPDATE load_product_meta m SET
    rating_1 = m.rating_1 - f.r1, rating_2 = m.rating_2 - f.r2, rating_3 = m.rating_3 - f.r3,
    rating_4 = m.rating_4 - f.r4, rating_5 = m.rating_5 - f.r5,
    recommend_false = m.recommend_false - f.rf, recommend_true = m.recommend_true - f.rt
FROM (SELECT r.product_id,
             count(*) FILTER (WHERE r.rating = 1) AS r1, count(*) FILTER (WHERE r.rating = 2) AS r2,
             count(*) FILTER (WHERE r.rating = 3) AS r3, count(*) FILTER (WHERE r.rating = 4) AS r4,
             count(*) FILTER (WHERE r.rating = 5) AS r5,
             count(*) FILTER (WHERE NOT r.recommend) AS rf, count(*) FILTER (WHERE r.recommend) AS rt
      FROM etl_flipped f JOIN load_reviews r ON r.id = f.id GROUP BY 1) f
WHERE m.product_id = f.product_id`
	unSums = `UPDATE load_characteristics c
SET value_sum = c.value_sum - s.total, value_count = c.value_count - s.n
FROM (SELECT cr.characteristic_id, sum(cr.value) AS total, count(*)::int4 AS n
      FROM etl_flipped f JOIN load_characteristic_reviews cr ON cr.review_id = f.id
      GROUP BY 1) s
WHERE c.id = s.characteristic_id`
)

// votedLoaded selects the served loaded reviews r whose API votes and
// reports a pass carries: before the switch-over every one the API ever
// voted on or reported; inside it (pending) only those it voted on or
// reported since the last load, which hold every change since the first
// pass, found through reviews_api_votes_idx.
func votedLoaded(pending bool) string {
	if pending {
		return "r.api_pending AND NOT r.via_api"
	}
	return "NOT r.via_api AND (r.api_helpful > 0 OR r.api_reported)"
}

// resync applies to the reviews carried before the switch-over the votes
// and reports made on them since, and to the loaded reviews the votes and
// reports the API made on them that the staging rows lack yet; inSwitch
// says it runs inside the switch-over (see votedLoaded).
func resync(ctx context.Context, tx pgx.Tx, inSwitch bool) error {
	voted := votedLoaded(inSwitch)
	for _, sql := range []string{flippedTable, findFlipped + voted, "ANALYZE etl_flipped", resyncCarried, carryVotes + voted, unMeta, unSums} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return err
		}
	}
	return nil
}
