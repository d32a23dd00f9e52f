package server

import (
	"log/slog"
	"testing"

	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/testdb"
)

func TestNewPool(t *testing.T) {
	want := []string{queries.ListSQL(queries.SortRelevant), queries.ListSQL(queries.SortNewest), queries.ListSQL(queries.SortHelpful), queries.MetaSQL()}
	f := func(url string, maxConns int, role poolRole, wantMax int32, wantPlan string) {
		t.Helper()
		pool, err := newPool(t.Context(), url, maxConns, role, nil, slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		if got := pool.Config().MaxConns; got != wantMax {
			t.Errorf("newPool(%q, %d): MaxConns %d, want %d", url, maxConns, got, wantMax)
		}
		if got := pool.Config().MinConns; got != wantMax {
			t.Errorf("newPool(%q, %d): MinConns %d, want every connection open from the start (%d)", url, maxConns, got, wantMax)
		}
		var plan string
		var prepared, writes int
		err = pool.QueryRow(t.Context(), `SELECT current_setting('plan_cache_mode'),
			(SELECT count(*) FROM pg_prepared_statements WHERE statement = ANY($1) AND generic_plans > 0),
			(SELECT count(*) FROM pg_prepared_statements WHERE statement = ANY($2) AND generic_plans > 0)`,
			want, queries.WriteSQL()).Scan(&plan, &prepared, &writes)
		if err != nil {
			t.Fatal(err)
		}
		if plan != wantPlan {
			t.Errorf("newPool(%q): plan_cache_mode %q, want %q", url, plan, wantPlan)
		}
		// Read connections come with the read statements prepared and
		// planned, write connections with the write statements; neither
		// runs the other's.
		wantPrepared, wantWrites := 0, len(queries.WriteSQL())
		if role == readPool {
			wantPrepared, wantWrites = len(want), 0
		}
		if prepared != wantPrepared || writes != wantWrites {
			t.Errorf("newPool(%q, role %d): %d read and %d write statements prepared and planned, want %d and %d",
				url, role, prepared, writes, wantPrepared, wantWrites)
		}
	}
	url := testdb.URL()
	f(url, 16, writePool, 16, "force_generic_plan")
	// What the URL says wins…
	f(url+"&pool_max_conns=3&plan_cache_mode=auto", 16, writePool, 3, "auto")
	// …except the size of a read pool: one connection per pipeline.
	f(url+"&pool_max_conns=3", 2, readPool, 2, "force_generic_plan")
}
