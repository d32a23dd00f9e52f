package queries

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

// HasReviews is the demo loader's "already loaded" marker: false on a
// migrated, empty database, true once it holds one review. Asked on a
// connection first and a pool then, the two kinds of db it is given.
func TestHasReviews(t *testing.T) {
	url := testdb.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	has, err := HasReviews(t.Context(), conn)
	if err != nil || has {
		t.Fatalf("empty database: HasReviews = %v, %v; want false, nil", has, err)
	}

	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	mustExec(t, pool, `INSERT INTO reviews (product_id, rating, date, summary, body, recommend, reviewer_name, reviewer_email)
		VALUES (1, 5, now(), 's', 'b', true, 'n', 'e@x')`)
	has, err = HasReviews(t.Context(), pool)
	if err != nil || !has {
		t.Fatalf("one review: HasReviews = %v, %v; want true, nil", has, err)
	}
}
