package server

import (
	"testing"

	"github.com/catwalk/reviews/testdb"
)

func TestNewPool(t *testing.T) {
	f := func(url string, maxConns int, exact bool, wantMax int32, wantPlan string) {
		t.Helper()
		pool, err := newPool(t.Context(), url, maxConns, exact)
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
		if err := pool.QueryRow(t.Context(), "SHOW plan_cache_mode").Scan(&plan); err != nil {
			t.Fatal(err)
		}
		if plan != wantPlan {
			t.Errorf("newPool(%q): plan_cache_mode %q, want %q", url, plan, wantPlan)
		}
	}
	url := testdb.URL()
	f(url, 16, false, 16, "force_generic_plan")
	// What the URL says wins…
	f(url+"&pool_max_conns=3&plan_cache_mode=auto", 16, false, 3, "auto")
	// …except the size of an exact pool (the read pool: one connection per
	// pipeline).
	f(url+"&pool_max_conns=3", 2, true, 2, "force_generic_plan")
}
