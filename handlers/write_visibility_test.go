// The end-to-end check of cache coherence through GET.

package handlers_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/testdb"
)

type listBody struct {
	Results []struct {
		ReviewID int64 `json:"review_id"`
	} `json:"results"`
}

type metaBody struct {
	Ratings map[string]string `json:"ratings"`
}

func ids(l listBody) []int64 {
	var out []int64
	for _, r := range l.Results {
		out = append(out, r.ReviewID)
	}
	return out
}

// within polls cond through instance B for up to a second.
func within(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not visible on the other instance within 1s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWriteVisibleOnOtherInstance(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const product = 2_000_000
	var char int64
	if err := pool.QueryRow(context.Background(),
		"INSERT INTO characteristics (product_id, name) VALUES ($1, 'Fit') RETURNING id", product).Scan(&char); err != nil {
		t.Fatal(err)
	}
	a, b := instance(t), instance(t)
	list := fmt.Sprintf("/reviews?product_id=%d&sort=newest", product)
	meta := fmt.Sprintf("/reviews/meta?product_id=%d", product)

	// B caches the empty product.
	var l listBody
	var m metaBody
	if call(t, b, "GET", list, "", &l) != 200 || len(l.Results) != 0 || call(t, b, "GET", meta, "", &m) != 200 || len(m.Ratings) != 0 {
		t.Fatalf("before: list %v meta %v", l, m)
	}
	var created struct {
		ReviewID int64 `json:"review_id"`
	}
	body := fmt.Sprintf(`{"product_id":%d,"rating":5,"body":"%s","recommend":true,"name":"n","email":"a@b","characteristics":{"%d":4}}`,
		product, "Fifty characters at least, for the body of a review.", char)
	if st := call(t, a, "POST", "/reviews", body, &created); st != 201 {
		t.Fatalf("POST through A: %d", st)
	}
	within(t, "the new review in GET /reviews?sort=newest", func() bool {
		var l listBody
		call(t, b, "GET", list, "", &l)
		return slices.Equal(ids(l), []int64{created.ReviewID})
	})
	within(t, "the new review in meta", func() bool {
		var m metaBody
		call(t, b, "GET", meta, "", &m)
		return m.Ratings["5"] == "1"
	})
	if st := call(t, a, "PUT", fmt.Sprintf("/reviews/%d/report", created.ReviewID), "", nil); st != 204 {
		t.Fatalf("report through A: %d", st)
	}
	within(t, "the report in GET /reviews", func() bool {
		var l listBody
		call(t, b, "GET", list, "", &l)
		return len(l.Results) == 0
	})
	within(t, "the report in meta", func() bool {
		var m metaBody
		call(t, b, "GET", meta, "", &m)
		return len(m.Ratings) == 0
	})
}
