package handlers

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/catwalk/reviews/testdb"
)

// TestAppendAverageMatchesPostgres compares appendAverage with PostgreSQL's
// AVG(smallint)::text over sets of values 1..5 of many sizes, including the
// ones where 16 decimals round up and carry into the integer part.
func TestAppendAverageMatchesPostgres(t *testing.T) {
	pool := testdb.Pool(t)
	f := func(n, fives int64) {
		t.Helper()
		// n values: fives of them 5, the rest 1.
		var want string
		err := pool.QueryRow(context.Background(),
			`SELECT avg(CASE WHEN g <= $2 THEN 5 ELSE 1 END::smallint)::text FROM generate_series(1, $1::bigint) g`,
			n, fives).Scan(&want)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(appendAverage(nil, n+4*fives, int32(n))); got != want {
			t.Errorf("appendAverage(%d, %d) = %s, PostgreSQL says %s", n+4*fives, n, got, want)
		}
	}
	f(1, 0)
	f(1, 1)
	f(3, 1)
	f(3, 2)
	f(6, 1)
	f(7, 3)
	f(9999, 1)
	f(10000, 0)
	f(10000, 1)
	f(10000, 10000)
	f(100003, 77777)
	f(1<<20, 1<<19+1)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := r.Int64N(5000) + 1
		f(n, r.Int64N(n+1))
	}

	// AVG(smallint) is numeric_div(sum, count): check that on sums and
	// counts no generated set would reach in a test.
	g := func(sum int64, count int32) {
		t.Helper()
		var want string
		err := pool.QueryRow(context.Background(), `SELECT ($1::bigint::numeric / $2::bigint::numeric)::text`, sum, count).Scan(&want)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(appendAverage(nil, sum, count)); got != want {
			t.Errorf("appendAverage(%d, %d) = %s, PostgreSQL says %s", sum, count, got, want)
		}
	}
	g(19999, 10000)
	g(3999999999, 2000000000)
	g(2000000001, 2000000000)
	g(10737418235, 2147483647)
	g(2147483647, 2147483647)
	g(-20, 3)
	for range 300 {
		count := r.Int32N(1<<31-1) + 1
		if r.IntN(2) == 0 {
			count = r.Int32N(30000) + 1
		}
		g(int64(count)+r.Int64N(4*int64(count)+1), count)
	}
}

func TestAppendAverageSuccess(t *testing.T) {
	f := func(sum int64, count int32, want string) {
		t.Helper()
		if got := string(appendAverage(nil, sum, count)); got != want {
			t.Errorf("appendAverage(%d, %d) = %s, want %s", sum, count, got, want)
		}
	}
	f(2, 1, "2.0000000000000000")
	f(10, 3, "3.3333333333333333")
	f(20, 3, "6.6666666666666667")
	f(5, 2, "2.5000000000000000")
	f(1, 1, "1.00000000000000000000") // PostgreSQL's scale for a quotient of exactly 1
	f(7, 7, "1.00000000000000000000")
	f(10001, 10000, "1.00010000000000000000")
	f(9999, 10000, "0.99990000000000000000")
	f(19999, 10000, "1.99990000000000000000")
	f(2000000001, 2000000000, "1.00000000050000000000") // half away from zero at the 20th
	f(3999999999, 2000000000, "1.9999999995000000")
	f(1<<62, 3, "1537228672809129301")
	f(-10, 3, "-3.3333333333333333")
	f(-20, 3, "-6.6666666666666667")
}
