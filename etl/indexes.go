package etl

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// copyOtherIndexes builds on the staging table every index the served table
// has and schema/etl does not name, so an index a later migration adds
// survives a load even before schema/etl learns of it.
func copyOtherIndexes(ctx context.Context, tx pgx.Tx, table string) error {
	rows, err := tx.Query(ctx, `SELECT c.relname, pg_get_indexdef(c.oid)
		FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
		WHERE x.indrelid = to_regclass($1)
		  AND NOT EXISTS (SELECT 1 FROM pg_class s
		                  WHERE s.relname = 'load_' || c.relname AND s.relnamespace = c.relnamespace)
		ORDER BY c.relname`, table)
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
		sql, err := stagingIndexDef(d[0], d[1], table)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("index %s: %w", d[0], err)
		}
	}
	return nil
}

// stagingIndexDef turns pg_get_indexdef's "CREATE [UNIQUE] INDEX name ON
// schema.table USING …" into the same index on the staging table.
func stagingIndexDef(name, def, table string) (string, error) {
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
