package schema

// The ETL's statements that carry the API's writes over a load (package
// etl, carry.go, says what is carried and when). They run on the staging
// tables of schema/etl/*.sql and on the served tables; every value comes in
// as a parameter.

// ETLCarriedTable holds the ids of the reviews one pass copies; the
// statements after the copy join it.
const ETLCarriedTable = `CREATE TEMP TABLE etl_carried (id int4 PRIMARY KEY) ON COMMIT DROP`

// ETLCarryReviews copies the API's reviews the staging table does not hold.
const ETLCarryReviews = `WITH ins AS (
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

// ETLAnalyzeCarried gives the planner the carried ids' count: it decides
// between index lookups (a few new reviews, inside the switch-over) and one
// pass over a table (many, before it).
const ETLAnalyzeCarried = "ANALYZE etl_carried"

// ETLCarryIDBases returns where new ids for renumbered rows start: past
// everything, the ids served or handed out before ($1 photos, $2 values)
// and the staged ones.
const ETLCarryIDBases = `SELECT greatest($1::bigint, (SELECT coalesce(max(id), 0) FROM load_reviews_photos)),
		greatest($2::bigint, (SELECT coalesce(max(id), 0) FROM load_characteristic_reviews))`

// ETLCarryPhotos copies the carried reviews' photos from their photos JSON
// (the old photos table has no index by review), renumbering a photo whose
// id the staging table holds, and rewrites the JSON of the reviews it
// renumbered. $1: the largest photo id used or handed out.
const ETLCarryPhotos = `WITH e AS (
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

// ETLCarryValues copies the carried reviews' characteristic values whose
// characteristic the loaded data has, for the review's product.
// $1: the largest value id used or handed out.
const ETLCarryValues = `INSERT INTO load_characteristic_reviews (id, characteristic_id, review_id, value)
SELECT CASE WHEN EXISTS (SELECT FROM load_characteristic_reviews l WHERE l.id = cr.id)
            THEN ($1::bigint + row_number() OVER (ORDER BY cr.id))::int4 ELSE cr.id END,
       cr.characteristic_id, cr.review_id, cr.value
FROM etl_carried k
JOIN load_reviews r ON r.id = k.id
JOIN characteristic_reviews cr ON cr.review_id = r.id
JOIN load_characteristics c ON c.id = cr.characteristic_id AND c.product_id = r.product_id`

// ETLCarrySums adds the carried non-reported reviews' values to the sums.
const ETLCarrySums = `UPDATE load_characteristics c
SET value_sum = c.value_sum + s.total, value_count = c.value_count + s.n
FROM (SELECT cr.characteristic_id, sum(cr.value) AS total, count(*)::int4 AS n
      FROM etl_carried k JOIN load_reviews r ON r.id = k.id
      JOIN load_characteristic_reviews cr ON cr.review_id = r.id
      WHERE NOT r.reported
      GROUP BY 1) s
WHERE c.id = s.characteristic_id`

// ETLCarryMeta adds the carried reviews to their products' counts (a product
// gets its row even when all its carried reviews are reported, as a load
// gives every product with a review one).
const ETLCarryMeta = `INSERT INTO load_product_meta AS m (product_id, rating_1, rating_2, rating_3, rating_4, rating_5,
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

// ETLResync returns, in order, the statements that apply the votes and
// reports made since (see above); pending says it runs inside the
// switch-over (see votedLoaded).
func ETLResync(pending bool) []string {
	voted := votedLoaded(pending)
	return []string{flippedTable, findFlipped + voted, "ANALYZE etl_flipped", resyncCarried, carryVotes + voted, unMeta, unSums}
}
