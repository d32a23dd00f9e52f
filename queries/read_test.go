package queries

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

func mustPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), testdb.NewDatabase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func mustExec(tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) {
	tb.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatalf("exec: %v", err)
	}
}

// manyReviewsSQL fills reviews with 2,000 products of 30 reviews each, one
// in seven reported, enough for the planner to prefer the indexes.
const manyReviewsSQL = `
INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reported, reviewer_name, reviewer_email, helpfulness)
SELECT 1 + g % 2000, 1 + g % 5, timestamptz '2020-01-01' + g * interval '17 minutes', 's', repeat('b', 60),
       g % 3 = 0, g % 7 = 0, 'n', 'e@x', (g * 7919) % 50
FROM generate_series(1, 60000) g;
ANALYZE reviews;`

// TestListPlansUseIndexes proves each list statement is an ordered scan of
// its partial index with no Sort node, both as a custom plan (parameter
// values known) and as the generic plan prepared statements may switch to.
func TestListPlansUseIndexes(t *testing.T) {
	pool := mustPool(t)
	mustExec(t, pool, manyReviewsSQL)
	f := func(s Sort, index string) {
		t.Helper()
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			nodes := planNodes(explain(t, pool, mode, ListSQL(s), "42, 5, 10"))
			if !slices.ContainsFunc(nodes, func(n planNode) bool { return n.Type == "Index Scan" && n.Index == index }) {
				t.Errorf("sort %d (%s): no Index Scan on %s: %+v", s, mode, index, nodes)
			}
			if slices.ContainsFunc(nodes, func(n planNode) bool { return n.Type == "Sort" || n.Type == "Incremental Sort" }) {
				t.Errorf("sort %d (%s): plan sorts: %+v", s, mode, nodes)
			}
		}
	}
	f(SortRelevant, "reviews_relevant_idx")
	f(SortNewest, "reviews_newest_idx")
	f(SortHelpful, "reviews_helpful_idx")
}

// TestMetaPlanReadsAggregates proves meta reads product_meta by key and the
// product's characteristics by index, never characteristic_reviews.
func TestMetaPlanReadsAggregates(t *testing.T) {
	pool := mustPool(t)
	mustExec(t, pool, `
INSERT INTO product_meta (product_id) SELECT g FROM generate_series(1, 20000) g;
INSERT INTO characteristics (product_id, name) SELECT 1 + g % 20000, 'c' || g % 4 FROM generate_series(1, 80000) g;
ANALYZE product_meta; ANALYZE characteristics;`)
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		nodes := planNodes(explain(t, pool, mode, MetaSQL(), "42"))
		for _, want := range []string{"product_meta_pkey", "characteristics_product_idx"} {
			if !slices.ContainsFunc(nodes, func(n planNode) bool { return n.Index == want }) {
				t.Errorf("meta plan (%s) does not use %s: %+v", mode, want, nodes)
			}
		}
		for _, n := range nodes {
			if n.Relation == "characteristic_reviews" || n.Type == "Seq Scan" {
				t.Errorf("meta plan (%s) has a %s on %s", mode, n.Type, n.Relation)
			}
		}
	}
}

type planNode struct {
	Type     string     `json:"Node Type"`
	Index    string     `json:"Index Name"`
	Relation string     `json:"Relation Name"`
	Plans    []planNode `json:"Plans"`
}

// planNodes flattens a plan tree.
func planNodes(root planNode) []planNode {
	out := []planNode{root}
	for _, p := range root.Plans {
		out = append(out, planNodes(p)...)
	}
	for i := range out {
		out[i].Plans = nil
	}
	return out
}

// explain prepares sql on one connection, then EXPLAIN ANALYZEs its EXECUTE
// with the constant arguments args under plan_cache_mode mode.
func explain(t *testing.T, pool *pgxpool.Pool, mode, sql, args string) planNode {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, stmt := range []string{"SET plan_cache_mode = " + mode, "PREPARE explained AS " + sql} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	defer conn.Exec(ctx, "DEALLOCATE explained; RESET plan_cache_mode")
	var out []byte
	if err := conn.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE explained("+args+")").Scan(&out); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("EXPLAIN output %s: %v", out, err)
	}
	return plans[0].Plan
}

// TestDecodeReviewMatchesScan: rows in listFormats decoded straight from
// the wire equal what pgx's Scan makes of them.
func TestDecodeReviewMatchesScan(t *testing.T) {
	pool := mustPool(t)
	mustExec(t, pool, `
INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reported, reviewer_name, reviewer_email, response, helpfulness, photos) VALUES
 (7, 5, '2020-07-30 03:41:21.467+00', 'sum', 'body', true, false, 'n', 'e', NULL, 8, '[{"id":1,"url":"u"}]'),
 (7, 1, '1999-12-31 23:59:59.999+00', '', '', false, false, 'ñ', 'e', '', 0, '[]'),
 (7, 3, '1970-01-01 00:00:00.001+00', 'x', E'multi\nline', true, false, 'n', 'e', 'resp', 2147483647, '[]'),
 (7, 2, '2262-04-11 23:47:16.854775+00', 'far', 'b', false, false, 'n', 'e', NULL, 1, '[]')`)
	for _, s := range []Sort{SortRelevant, SortNewest, SortHelpful} {
		rows, err := pool.Query(context.Background(), ListSQL(s), pgx.QueryResultFormats(listFormats[:]), int32(7), int32(10), int64(0))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
			var raw, scanned Review
			if !decodeReview(&raw, rows.RawValues()) {
				t.Fatalf("sort %d: decodeReview refused %q", s, rows.RawValues())
			}
			if err := rows.Scan(&scanned.ID, &scanned.Rating, &scanned.Summary, &scanned.Recommend, &scanned.Response, &scanned.Body, &scanned.Date, &scanned.ReviewerName, &scanned.Helpfulness, &scanned.Photos); err != nil {
				t.Fatal(err)
			}
			if !raw.Date.Equal(scanned.Date) || raw.Date.Location() != time.UTC {
				t.Errorf("date %v, Scan says %v", raw.Date, scanned.Date)
			}
			raw.Date, scanned.Date = time.Time{}, time.Time{}
			if fmt.Sprintf("%+v", raw) != fmt.Sprintf("%+v", scanned) || (raw.Response == nil) != (scanned.Response == nil) {
				t.Errorf("decoded %+v, Scan says %+v", raw, scanned)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil || n != 4 {
			t.Fatalf("sort %d: %d rows, %v", s, n, err)
		}
	}
}
