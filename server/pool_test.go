package server

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/newrelic/go-agent/v3/integrations/nrpgx5"
	"github.com/newrelic/go-agent/v3/newrelic"
	"golang.org/x/sync/errgroup"

	"github.com/catwalk/reviews/nrtxn"
	"github.com/catwalk/reviews/queries"
	"github.com/catwalk/reviews/testdb"
)

func TestNewPool(t *testing.T) {
	want := []string{queries.ListSQL(queries.SortRelevant), queries.ListSQL(queries.SortNewest), queries.ListSQL(queries.SortHelpful), queries.MetaSQL()}
	f := func(url string, maxConns int, role poolRole, wantMax int32, wantPlan string) {
		t.Helper()
		pool, err := newPool(t.Context(), url, maxConns, role, nil, slog.Default(), false)
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
	url := testdb.URL(t)
	f(url, 16, writePool, 16, "force_generic_plan")
	// What the URL says wins…
	f(url+"&pool_max_conns=3&plan_cache_mode=auto", 16, writePool, 3, "auto")
	// …except the size of a read pool: one connection per pipeline.
	f(url+"&pool_max_conns=3", 2, readPool, 2, "force_generic_plan")
}

// TestNewPoolTraced: with New Relic on, every connection of a pool has a
// pgx tracer of its own (nrpgx5 writes the connection's address into its
// tracer at connect, so a shared one would race under -race here), and
// statements run on a transaction's context go through it; off, none.
func TestNewPoolTraced(t *testing.T) {
	app, err := nrtxn.Start("catwalk-test", "0123456789012345678901234567890123456789", newrelic.ConfigEnabled(false))
	if err != nil {
		t.Fatal(err)
	}
	defer nrtxn.Stop(app, 0)
	for _, traced := range []bool{true, false} {
		pool, err := newPool(t.Context(), testdb.URL(t), 4, writePool, nil, slog.Default(), traced)
		if err != nil {
			t.Fatal(err)
		}
		txn := app.StartTransaction("GET /reviews/meta")
		ctx := newrelic.NewContext(t.Context(), txn)
		var g errgroup.Group
		tracers := make([]pgx.QueryTracer, 4)
		for i := range tracers {
			g.Go(func() error {
				c, err := pool.Acquire(ctx)
				if err != nil {
					return err
				}
				defer c.Release()
				tracers[i] = c.Conn().Config().Tracer
				var one int
				return c.QueryRow(ctx, "SELECT 1 FROM pg_sleep(0.05)").Scan(&one)
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		txn.End()
		pool.Close()
		for i, tr := range tracers {
			_, isNR := tr.(*nrpgx5.Tracer)
			if isNR != traced || !traced && tr != nil {
				t.Errorf("traced %v: connection %d has tracer %T", traced, i, tr)
			}
			if traced && slices.Contains(tracers[:i], tr) {
				t.Errorf("connections share a tracer")
			}
		}
	}
}
