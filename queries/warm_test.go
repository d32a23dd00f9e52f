package queries

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/testdb"
)

// TestWarmConn: after WarmConn a connection holds every read statement
// prepared and already planned, as the serving pools configure them.
func TestWarmConn(t *testing.T) {
	conn, err := pgx.Connect(t.Context(), testdb.URL()+"&plan_cache_mode=force_generic_plan")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	WarmConn(t.Context(), conn)
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
