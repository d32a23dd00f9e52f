package handlers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/catwalk/reviews/cache"
	"github.com/catwalk/reviews/invalidate"
	"github.com/catwalk/reviews/queries"
)

// mustInstance is one serving instance as server.Run wires it: its own
// cache, its own invalidation listener, the shared database.
func mustInstance(tb testing.TB) *testServer {
	tb.Helper()
	pool := mustPool(tb)
	return mustInstanceOn(tb, pool, pool.Config().ConnConfig.Copy(), nil)
}

// mustInstanceOn is mustInstance on pool, with the coherence connections
// made from cfg; tune, when set, adjusts the coherence before it starts.
func mustInstanceOn(tb testing.TB, pool *pgxpool.Pool, cfg *pgx.ConnConfig, tune func(*invalidate.Coherence)) *testServer {
	tb.Helper()
	c := mustCache(tb)
	store := queries.New(pool)
	co := invalidate.New(cfg, c, store, nil)
	co.Listener.RetryInterval = 50 * time.Millisecond
	co.Announcer.RetryInterval = 50 * time.Millisecond
	if tune != nil {
		tune(co)
	}
	stop := co.Start()
	tb.Cleanup(func() { stop(true) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := co.WaitReady(ctx); err != nil {
		tb.Fatalf("the instance's coherence did not start: %v", err)
	}
	h := New(store, c, Config{Written: co.Written, Coherent: co.Err}, nil)
	s := serveHandler(tb, h, c, pool)
	s.coherence = co
	return s
}

// evictedWithin waits until c no longer serves k.
func evictedWithin(tb testing.TB, c *cache.Cache, k cache.Key, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		if _, ok := c.Get(k); !ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the other instance still serves %+v after %v", k, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWritesEvictOtherInstances(t *testing.T) {
	a, b := mustInstance(t), mustInstance(t)
	p := mustProduct(t, a.pool, 2)
	other := mustProduct(t, a.pool, 1)

	// f prefills B's cache for p, writes through A, and expects B to drop
	// the entry within a second while keeping other products' entries.
	f := func(what string, write func() response, status int) {
		t.Helper()
		keys := prefill(t, b.cache, p.id, other.id)
		if r := write(); r.status != status {
			t.Fatalf("%s through A: %d %s, want %d", what, r.status, r.body, status)
		}
		evictedWithin(t, b.cache, keys[0], time.Second)
		if _, ok := b.cache.Get(keys[1]); !ok {
			t.Fatalf("%s of product %d evicted product %d on B", what, p.id, other.id)
		}
	}
	var id int64
	f("POST", func() response {
		r := a.post(t, p.reviewJSON())
		id = createdID(t, r)
		return r
	}, 201)
	if r := mustReview(t, b, id); r.ProductID != p.id || r.Reported {
		t.Fatalf("B's database view of the new review: %+v", r)
	}
	f("helpful", func() response { return a.put(t, fmt.Sprintf("/reviews/%d/helpful", id)) }, 204)
	if h, _ := helpfulness(t, b, id); h != 1 {
		t.Fatalf("helpfulness %d, want 1", h)
	}
	f("report", func() response { return a.put(t, fmt.Sprintf("/reviews/%d/report", id)) }, 204)
	if r := mustReview(t, b, id); !r.Reported {
		t.Fatal("review not reported")
	}
	// And the other way round.
	keys := prefill(t, a.cache, p.id)
	createdID(t, b.post(t, p.reviewJSON()))
	evictedWithin(t, a.cache, keys[0], time.Second)
}
