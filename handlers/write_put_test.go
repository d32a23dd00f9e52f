package handlers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// helpfulness returns the review's votes and whether its stored score is
// review_score(helpfulness, date).
func helpfulness(tb testing.TB, s *testServer, id int64) (int32, bool) {
	tb.Helper()
	var h int32
	var ok bool
	err := s.pool.QueryRow(context.Background(),
		"SELECT helpfulness, score = review_score(helpfulness, date) FROM reviews WHERE id = $1", id).Scan(&h, &ok)
	if err != nil {
		tb.Fatal(err)
	}
	return h, ok
}

func noContent(tb testing.TB, r response) {
	tb.Helper()
	if r.status != 204 || r.body != "" {
		tb.Fatalf("status %d body %q, want 204 and no body", r.status, r.body)
	}
}

func TestMarkHelpfulSuccess(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 1)
	id := createdID(t, s.post(t, p.reviewJSON()))
	keys := prefill(t, s.cache, p.id)

	noContent(t, s.put(t, fmt.Sprintf("/reviews/%d/helpful", id)))
	if h, ok := helpfulness(t, s, id); h != 1 || !ok {
		t.Fatalf("helpfulness %d, score matches %v; want 1, true", h, ok)
	}
	if _, ok := s.cache.Get(keys[0]); ok {
		t.Fatal("the product's cached response survived a helpful vote")
	}
	noContent(t, s.put(t, fmt.Sprintf("/reviews/00%d/helpful", id)))
	if h, _ := helpfulness(t, s, id); h != 2 {
		t.Fatalf("helpfulness %d, want 2", h)
	}
	// A reported review still takes votes.
	noContent(t, s.put(t, fmt.Sprintf("/reviews/%d/report", id)))
	noContent(t, s.put(t, fmt.Sprintf("/reviews/%d/helpful", id)))
	if h, ok := helpfulness(t, s, id); h != 3 || !ok {
		t.Fatalf("helpfulness %d, score matches %v; want 3, true", h, ok)
	}
}

func TestMarkHelpfulConcurrently(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 1)
	id := createdID(t, s.post(t, p.reviewJSON()))
	const workers, each = 50, 20 // 1,000 votes
	path := fmt.Sprintf("/reviews/%d/helpful", id)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := map[int]int{}
	for range workers {
		wg.Go(func() {
			for range each {
				if r := s.put(t, path); r.status != 204 {
					mu.Lock()
					failed[r.status]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("failed votes by status: %v", failed)
	}
	if h, ok := helpfulness(t, s, id); h != workers*each || !ok {
		t.Fatalf("helpfulness %d, score matches %v; want %d, true", h, ok, workers*each)
	}
}

func putFailure(t *testing.T, s *testServer, action string) {
	t.Helper()
	f := func(id string, status int, field string) {
		t.Helper()
		before := mustWriteState(t, s.pool)
		r := s.put(t, "/reviews/"+id+"/"+action)
		if r.status != status || !strings.Contains(r.body, `"field":"`+field+`"`) || r.contentType != "application/json; charset=utf-8" {
			t.Errorf("%s %s: %d %s, want %d naming %s", action, id, r.status, r.body, status, field)
		}
		if after := mustWriteState(t, s.pool); after != before {
			t.Errorf("%s %s wrote: %+v → %+v", action, id, before, after)
		}
	}
	f("2147483000", 404, "review_id")
	f("0", 422, "review_id")
	f("-1", 422, "review_id")
	f("1.0", 422, "review_id")
	f("abc", 422, "review_id")
	f("2147483648", 422, "review_id")
	f("%20", 422, "review_id")
	if r := s.do(t, "POST", "/reviews/1/"+action, "", ""); r.status != 405 {
		t.Errorf("POST %s: %d, want 405", action, r.status)
	}
}

func TestMarkHelpfulFailure(t *testing.T) {
	pool := mustPool(t)
	putFailure(t, mustServer(t, pool), "helpful")
}

func TestReportFailure(t *testing.T) {
	pool := mustPool(t)
	putFailure(t, mustServer(t, pool), "report")
}

func TestReportSuccess(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 2)
	kept := createdID(t, s.post(t, p.reviewJSON(`"rating":5`, fmt.Sprintf(`"characteristics":{"%d":5,"%d":4}`, p.chars[0], p.chars[1]))))
	id := createdID(t, s.post(t, p.reviewJSON(`"rating":2`, `"recommend":false`, fmt.Sprintf(`"characteristics":{"%d":1,"%d":2}`, p.chars[0], p.chars[1]))))
	before := mustAggregates(t, pool, p)
	if fmt.Sprint(before) != "{[0 1 0 0 1] 1 1 [6 6] [2 2]}" {
		t.Fatalf("aggregates before: %v", before)
	}
	keys := prefill(t, s.cache, p.id)

	noContent(t, s.put(t, fmt.Sprintf("/reviews/%d/report", id)))
	want := "{[0 0 0 0 1] 0 1 [5 4] [1 1]}"
	if got := fmt.Sprint(mustAggregates(t, pool, p)); got != want {
		t.Fatalf("aggregates after report: %s, want %s", got, want)
	}
	if r := mustReview(t, s, id); !r.Reported {
		t.Fatal("review not marked reported")
	}
	if r := mustReview(t, s, kept); r.Reported {
		t.Fatal("the other review was reported")
	}
	if _, ok := s.cache.Get(keys[0]); ok {
		t.Fatal("the product's cached response survived a report")
	}
	// Again: nothing changes.
	state := mustWriteState(t, pool)
	noContent(t, s.put(t, fmt.Sprintf("/reviews/%d/report", id)))
	if got := fmt.Sprint(mustAggregates(t, pool, p)); got != want {
		t.Fatalf("aggregates after a second report: %s, want %s", got, want)
	}
	if after := mustWriteState(t, pool); after != state {
		t.Fatalf("a second report wrote: %+v → %+v", state, after)
	}
	assertAggregatesMatch(t, s, p)
}

func TestReportConcurrently(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 3)
	var ids []int64
	for range 5 {
		ids = append(ids, createdID(t, s.post(t, p.reviewJSON())))
	}
	// Every review reported ten times at once, while new reviews and votes
	// for the same product arrive: each report counts once, and nothing
	// deadlocks.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	check := func(r response, want int) {
		if r.status != want {
			mu.Lock()
			bad = append(bad, fmt.Sprintf("%d %s", r.status, r.body))
			mu.Unlock()
		}
	}
	for range 10 {
		for _, id := range ids {
			wg.Go(func() { check(s.put(t, fmt.Sprintf("/reviews/%d/report", id)), 204) })
			wg.Go(func() { check(s.put(t, fmt.Sprintf("/reviews/%d/helpful", id)), 204) })
		}
		wg.Go(func() { check(s.post(t, p.reviewJSON(`"rating":1`)), 201) })
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("unexpected answers: %v", bad)
	}
	m := mustAggregates(t, pool, p)
	if want := "{[10 0 0 0 0] 0 10 [30 30 30] [10 10 10]}"; fmt.Sprint(m) != want {
		t.Fatalf("aggregates %v, want %s (only the ten new reviews)", m, want)
	}
	assertAggregatesMatch(t, s, p)
}

// assertAggregatesMatch recomputes the product's aggregates from the
// source tables (non-reported reviews only) and compares them with the read
// model the writes maintain.
func assertAggregatesMatch(tb testing.TB, s *testServer, p product) {
	tb.Helper()
	var diff int64
	err := s.pool.QueryRow(context.Background(), `
		WITH truth AS (
			SELECT count(*) FILTER (WHERE rating = 1) AS r1, count(*) FILTER (WHERE rating = 2) AS r2,
			       count(*) FILTER (WHERE rating = 3) AS r3, count(*) FILTER (WHERE rating = 4) AS r4,
			       count(*) FILTER (WHERE rating = 5) AS r5, count(*) FILTER (WHERE NOT recommend) AS rf,
			       count(*) FILTER (WHERE recommend) AS rt
			FROM reviews WHERE product_id = $1 AND NOT reported
		), chars AS (
			SELECT c.id, c.value_sum, c.value_count,
			       COALESCE(sum(cr.value) FILTER (WHERE NOT r.reported), 0) AS s,
			       count(cr.id) FILTER (WHERE NOT r.reported) AS n
			FROM characteristics c
			LEFT JOIN characteristic_reviews cr ON cr.characteristic_id = c.id
			LEFT JOIN reviews r ON r.id = cr.review_id
			WHERE c.product_id = $1 GROUP BY c.id
		)
		SELECT (SELECT count(*) FROM truth t JOIN product_meta m ON m.product_id = $1
		        WHERE (t.r1, t.r2, t.r3, t.r4, t.r5, t.rf, t.rt) IS DISTINCT FROM
		              (m.rating_1, m.rating_2, m.rating_3, m.rating_4, m.rating_5, m.recommend_false, m.recommend_true))
		     + (SELECT count(*) FROM chars WHERE (value_sum, value_count) IS DISTINCT FROM (s, n))`, p.id).Scan(&diff)
	if err != nil {
		tb.Fatal(err)
	}
	if diff != 0 {
		tb.Fatalf("product %d: aggregates disagree with the source tables in %d places", p.id, diff)
	}
}

func TestWritesWithoutDatabase(t *testing.T) {
	// A pool on a port nothing listens on: every write is a connect error.
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := mustServer(t, pool)
	p := product{id: 1, chars: []int32{1}}
	f := func(r response) {
		t.Helper()
		if r.status != 503 || r.retryAfter == "" || !strings.Contains(r.body, `"error"`) || strings.Contains(r.body, "127.0.0.1") {
			t.Errorf("%d %q (Retry-After %q), want 503 with Retry-After and no detail", r.status, r.body, r.retryAfter)
		}
	}
	f(s.post(t, p.reviewJSON()))
	f(s.put(t, "/reviews/1/helpful"))
	f(s.put(t, "/reviews/1/report"))
}
