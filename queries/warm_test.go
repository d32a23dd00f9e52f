package queries

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/testdb"
)

// TestWarmConn: after WarmConn a connection holds every read statement
// prepared and already planned, as the serving pools configure them.
func TestWarmConn(t *testing.T) {
	conn, err := pgx.Connect(t.Context(), testdb.URL(t)+"&plan_cache_mode=force_generic_plan")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if err := WarmConn(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	want := []string{ListSQL(SortRelevant), ListSQL(SortNewest), ListSQL(SortHelpful), MetaSQL()}
	var planned int
	err = conn.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_prepared_statements WHERE statement = ANY($1) AND generic_plans > 0", want).Scan(&planned)
	if err != nil {
		t.Fatal(err)
	}
	if planned != len(want) {
		t.Fatalf("%d of the %d read statements prepared and planned after WarmConn", planned, len(want))
	}
}

// TestWarmWriteConn: after WarmWriteConn a connection holds every write
// statement prepared and planned, and nothing was written.
func TestWarmWriteConn(t *testing.T) {
	conn, err := pgx.Connect(t.Context(), testdb.URL(t)+"&plan_cache_mode=force_generic_plan")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	state := func() string {
		var s string
		err := conn.QueryRow(t.Context(), `SELECT concat_ws(' ', (SELECT count(*) FROM reviews), (SELECT count(*) FROM idempotency_keys),
			(SELECT COALESCE(sum(helpfulness), 0) FROM reviews), (SELECT count(*) FROM reviews WHERE reported),
			(SELECT last_value FROM reviews_id_seq))`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := state()
	if err := WarmWriteConn(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	if after := state(); after != before {
		t.Fatalf("warming wrote: %s → %s", before, after)
	}
	want := WriteSQL()
	var planned int
	err = conn.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_prepared_statements WHERE statement = ANY($1) AND generic_plans > 0", want).Scan(&planned)
	if err != nil {
		t.Fatal(err)
	}
	if planned != len(want) {
		t.Fatalf("%d of the %d write statements prepared and planned after WarmWriteConn", planned, len(want))
	}
}
