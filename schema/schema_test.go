package schema_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/schema"
	"github.com/catwalk/reviews/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func mustPool(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func TestMigrateTwice(t *testing.T) {
	pool := mustPool(t, testdb.NewEmptyDatabase(t))
	ctx := t.Context()
	if err := schema.Check(ctx, pool); !errors.Is(err, schema.ErrBehind) {
		t.Fatalf("Check on an empty database = %v, want ErrBehind", err)
	}
	applied, err := schema.Migrate(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(applied), schema.Latest(); got != want {
		t.Fatalf("first run applied %d migrations, want %d", got, want)
	}
	applied, err = schema.Migrate(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second run applied %v, want nothing", applied)
	}
	if err := schema.Check(ctx, pool); err != nil {
		t.Fatalf("Check after migrate: %v", err)
	}
	assertOneOfEach(t, pool)
}

func TestMigrateConcurrently(t *testing.T) {
	url := testdb.NewEmptyDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	total := make([]int, 3)
	for i := range 3 {
		pool := mustPool(t, url)
		wg.Go(func() {
			applied, err := schema.Migrate(context.Background(), pool)
			errs[i], total[i] = err, len(applied)
		})
	}
	wg.Wait()
	sum := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrator %d: %v", i, err)
		}
		sum += total[i]
	}
	if sum != schema.Latest() {
		t.Fatalf("three concurrent migrators applied %d migrations in all, want %d", sum, schema.Latest())
	}
	assertOneOfEach(t, mustPool(t, url))
}

// assertOneOfEach checks the version table holds each migration once and
// the tables exist.
func assertOneOfEach(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var n, distinct, max int
	err := pool.QueryRow(t.Context(), "SELECT count(*), count(DISTINCT version), max(version) FROM schema_migrations").Scan(&n, &distinct, &max)
	if err != nil {
		t.Fatal(err)
	}
	if n != schema.Latest() || distinct != n || max != schema.Latest() {
		t.Fatalf("schema_migrations: %d rows, %d distinct, max %d; want %d of each", n, distinct, max, schema.Latest())
	}
	for _, table := range []string{"reviews", "reviews_photos", "characteristics", "characteristic_reviews", "product_meta"} {
		var ok bool
		if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing (err %v)", table, err)
		}
	}
}

func TestMigrationsAreNumbered(t *testing.T) {
	for i, m := range schema.Migrations() {
		if m.Version != i+1 {
			t.Errorf("migration %d is %s", i+1, m.Name)
		}
		if m.SQL == "" {
			t.Errorf("%s is empty", m.Name)
		}
	}
}

// TestReviewScore pins the stored relevance score to API.md's formula.
func TestReviewScore(t *testing.T) {
	pool := testdb.Pool(t)
	f := func(helpfulness int, dateMS int64, want float64) {
		t.Helper()
		var got float64
		err := pool.QueryRow(t.Context(), "SELECT review_score($1, to_timestamp($2::float8 / 1000))", helpfulness, dateMS).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("review_score(%d, %d) = %v, want %v", helpfulness, dateMS, got, want)
		}
	}
	f(0, 0, 0)
	f(9, 0, 1)
	f(0, 2592000000, 1)
	f(8, 1596080481467, 0.9542425094393249+float64(1596080481467)/1000/2592000)
}
