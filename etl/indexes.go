package etl

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/schema"
)

// copyOtherIndexes builds on the staging table every index the served table
// has and schema/etl does not name, so an index a later migration adds
// survives a load even before schema/etl learns of it.
func copyOtherIndexes(ctx context.Context, tx pgx.Tx, table string) error {
	rows, err := tx.Query(ctx, schema.ETLOtherIndexes, table)
	if err != nil {
		return err
	}
	defs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var v [2]string
		err := r.Scan(&v[0], &v[1])
		return v, err
	})
	if err != nil {
		return err
	}
	for _, d := range defs {
		sql, err := schema.ETLStagingIndex(d[0], d[1], table)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("index %s: %w", d[0], err)
		}
	}
	return nil
}
