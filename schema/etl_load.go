package schema

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The statements of the ETL's bulk load (package etl) besides the DDL of
// schema/etl/*.sql. Those that name a table take it from the etl package's
// constants, never from input.

// ETLMaintenanceMem lets each table's transaction sort its index builds in
// memory.
const ETLMaintenanceMem = "SET LOCAL maintenance_work_mem = '1GB'"

// ETLCopy streams rows into table's columns with binary COPY. FREEZE: the
// staging table was created in the same transaction, so its rows can be
// written frozen, with their visibility hint bits set; the first reads after
// the switch do not have to rewrite every page.
func ETLCopy(table string, columns []string) string {
	return "COPY " + table + " (" + strings.Join(columns, ", ") + ") FROM STDIN (FORMAT binary, FREEZE)"
}

// ETLAnalyze analyzes the staging table of table (load_table), on the
// columns of etlAnalyzeColumns when it has some.
func ETLAnalyze(table string) string {
	return "ANALYZE load_" + table + etlAnalyzeColumns[table]
}

// etlAnalyzeColumns narrows ANALYZE to the columns queries filter or sort
// on: statistics of the long texts would cost seconds and help no plan.
var etlAnalyzeColumns = map[string]string{
	"reviews": " (id, product_id, rating, date, recommend, reported, helpfulness, score, via_api)",
}

// ETLFillPhotos sets every review's photos JSON from the photos table,
// for when the files could not be merged while streaming. The JSON is byte
// for byte what the merge writes (PhotosJSONAgg and AppendPhotosJSON,
// tested equal). The table names are the etl package's constants.
func ETLFillPhotos(reviews, photos string) string {
	return `WITH p AS (
  SELECT review_id, ` + PhotosJSONAgg + ` AS photos
  FROM ` + photos + ` GROUP BY review_id)
UPDATE ` + reviews + ` r SET photos = coalesce(p.photos, '[]')::json
FROM ` + reviews + ` r2 LEFT JOIN p ON p.review_id = r2.id
WHERE r.id = r2.id AND r.photos::text IS DISTINCT FROM coalesce(p.photos, '[]')`
}

// etlServedCounts count, per served table, the rows that came from files:
// the API's reviews, their photos and their values are carried over by the
// switch-over, so they do not count against a new file.
var etlServedCounts = map[string]string{
	"reviews": `SELECT count(*) FILTER (WHERE NOT via_api) FROM reviews`,
	"reviews_photos": `SELECT (SELECT count(*) FROM reviews_photos)
	                  - (SELECT coalesce(sum(json_array_length(photos)), 0) FROM reviews WHERE via_api)`,
	"characteristics": `SELECT count(*) FROM characteristics`,
	"characteristic_reviews": `SELECT (SELECT count(*) FROM characteristic_reviews)
	                                - (SELECT count(*) FROM characteristic_reviews WHERE review_id IN (SELECT id FROM reviews WHERE via_api))`,
}

// ETLCountServed counts the rows of table that came from files (the etl
// package's shrink check).
func ETLCountServed(table string) string {
	sql, ok := etlServedCounts[table]
	if !ok {
		panic("schema: no served count for " + table) // the names are constants of the etl package
	}
	return sql
}

// ETLOtherIndexes lists, by name with their definitions, the indexes of the
// served table $1 that have no staging counterpart (load_ + name) yet.
const ETLOtherIndexes = `SELECT c.relname, pg_get_indexdef(c.oid)
		FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
		WHERE x.indrelid = to_regclass($1)
		  AND NOT EXISTS (SELECT 1 FROM pg_class s
		                  WHERE s.relname = 'load_' || c.relname AND s.relnamespace = c.relnamespace)
		ORDER BY c.relname`

// ETLStagingIndex turns pg_get_indexdef's "CREATE [UNIQUE] INDEX name ON
// schema.table USING …" (def, of index name on table) into the same index on
// the staging table.
func ETLStagingIndex(name, def, table string) (string, error) {
	head, rest, ok := strings.Cut(def, " ON ")
	if !ok {
		return "", fmt.Errorf("index %s: unexpected definition %q", name, def)
	}
	create := "CREATE INDEX "
	if strings.HasPrefix(head, "CREATE UNIQUE INDEX ") {
		create = "CREATE UNIQUE INDEX "
	}
	_, after, ok := strings.Cut(rest, " ")
	if !ok {
		return "", fmt.Errorf("index %s: unexpected definition %q", name, def)
	}
	return create + pgx.Identifier{"load_" + name}.Sanitize() + " ON " + pgx.Identifier{"load_" + table}.Sanitize() + " " + after, nil
}

// ETLIndexProgress reads the progress of the index build of backend $1.
const ETLIndexProgress = `SELECT coalesce(blocks_done, 0), coalesce(blocks_total, 0),
				coalesce(tuples_done, 0), coalesce(tuples_total, 0), phase
				FROM pg_stat_progress_create_index WHERE pid = $1`
