package etl

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/schema"
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
// The statements are the database's contracts, in schema/etl_carry.go.

// carryOver copies the API's reviews that the staging tables do not hold
// yet (see above) and returns how many it copied. floors holds, per table,
// the largest id served or handed out so far.
func carryOver(ctx context.Context, tx pgx.Tx, floors map[string]int64) (int64, error) {
	if _, err := tx.Exec(ctx, schema.ETLCarriedTable); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, schema.ETLCarryReviews)
	if err != nil || tag.RowsAffected() == 0 {
		return 0, err
	}
	// Its size decides between index lookups (a few new reviews, inside the
	// switch-over) and one pass over a table (many, before it).
	if _, err := tx.Exec(ctx, schema.ETLAnalyzeCarried); err != nil {
		return 0, err
	}
	// New ids for renumbered rows start past everything: the old ids and
	// the staged ones.
	var photoBase, valueBase int64
	if err := tx.QueryRow(ctx, schema.ETLCarryIDBases,
		floors["reviews_photos"], floors["characteristic_reviews"]).Scan(&photoBase, &valueBase); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, schema.ETLCarryPhotos, photoBase); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, schema.ETLCarryValues, valueBase); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, schema.ETLCarrySums); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, schema.ETLCarryMeta); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// resync applies to the reviews carried before the switch-over the votes
// and reports made on them since, and to the loaded reviews the votes and
// reports the API made on them that the staging rows lack yet; inSwitch
// says it runs inside the switch-over (see schema.ETLResync).
func resync(ctx context.Context, tx pgx.Tx, inSwitch bool) error {
	for _, sql := range schema.ETLResync(inSwitch) {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return err
		}
	}
	return nil
}
