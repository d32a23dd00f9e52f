package handlers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// keyFor names a key after the test's product, so reruns on the same
// database (-count) never meet an earlier run's keys.
func keyFor(p product, name string) string { return fmt.Sprintf("%s-%d", name, p.id) }

func reviewsOf(tb testing.TB, s *testServer, p product) int64 {
	tb.Helper()
	var n int64
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM reviews WHERE product_id = $1", p.id).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestIdempotencyKeySuccess(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)

	t.Run("RetryReturnsTheFirstResponse", func(t *testing.T) {
		p := mustProduct(t, pool, 2)
		body := p.reviewJSON()
		first := s.post(t, body, "Idempotency-Key", keyFor(p, "retry-1"))
		createdID(t, first)
		before := mustWriteState(t, pool)
		for range 3 {
			again := s.post(t, body, "Idempotency-Key", keyFor(p, "retry-1"))
			if again.status != first.status || again.body != first.body || again.contentType != first.contentType {
				t.Fatalf("retry answered %d %s, first was %d %s", again.status, again.body, first.status, first.body)
			}
		}
		if after := mustWriteState(t, pool); after != before {
			t.Fatalf("retries wrote: %+v → %+v", before, after)
		}
		if n := reviewsOf(t, s, p); n != 1 {
			t.Fatalf("%d reviews, want 1", n)
		}
	})

	t.Run("KeysAreIndependent", func(t *testing.T) {
		p := mustProduct(t, pool, 1)
		a := createdID(t, s.post(t, p.reviewJSON(), "Idempotency-Key", keyFor(p, "indep-a")))
		b := createdID(t, s.post(t, p.reviewJSON(), "Idempotency-Key", keyFor(p, "indep-b")))
		c := createdID(t, s.post(t, p.reviewJSON()))
		if a == b || b == c {
			t.Fatalf("ids %d %d %d: want three reviews", a, b, c)
		}
	})

	t.Run("FailuresAreNotRemembered", func(t *testing.T) {
		p := mustProduct(t, pool, 2)
		bad := p.reviewJSON(`"characteristics":{"1":1}`) // fails in the database
		if r := s.post(t, bad, "Idempotency-Key", keyFor(p, "fail-then-ok")); r.status != 422 {
			t.Fatalf("bad body: %d %s", r.status, r.body)
		}
		if r := s.post(t, p.reviewJSON(`"rating":7`), "Idempotency-Key", keyFor(p, "fail-then-ok")); r.status != 422 {
			t.Fatalf("bad body: %d %s", r.status, r.body)
		}
		createdID(t, s.post(t, p.reviewJSON(), "Idempotency-Key", keyFor(p, "fail-then-ok")))
	})

	t.Run("LongestKey", func(t *testing.T) {
		p := mustProduct(t, pool, 1)
		key := strings.Repeat("ключ", 63) + fmt.Sprintf("%03d", p.id%1000) // 255 characters, more bytes
		first := s.post(t, p.reviewJSON(), "Idempotency-Key", key)
		createdID(t, first)
		if again := s.post(t, p.reviewJSON(), "Idempotency-Key", key); again.body != first.body {
			t.Fatalf("retry %s, first %s", again.body, first.body)
		}
	})

	t.Run("ConcurrentDuplicatesMakeOneReview", func(t *testing.T) {
		p := mustProduct(t, pool, 3)
		body := p.reviewJSON()
		const n = 20
		got := make([]response, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i] = s.post(t, body, "Idempotency-Key", keyFor(p, "race")) })
		}
		wg.Wait()
		for _, r := range got {
			if r.status != 201 || r.body != got[0].body {
				t.Fatalf("answers differ: %d %s vs %d %s", r.status, r.body, got[0].status, got[0].body)
			}
		}
		if n := reviewsOf(t, s, p); n != 1 {
			t.Fatalf("%d reviews from one key, want 1", n)
		}
		if m := mustAggregates(t, pool, p); m.Ratings[3] != 1 || m.Counts[0] != 1 {
			t.Fatalf("aggregates counted the review more than once: %+v", m)
		}
	})
}

func TestIdempotencyKeyFailure(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 2)
	createdID(t, s.post(t, p.reviewJSON(), "Idempotency-Key", keyFor(p, "k1")))

	f := func(body string) {
		t.Helper()
		before := mustWriteState(t, pool)
		r := s.post(t, body, "Idempotency-Key", keyFor(p, "k1"))
		if r.status != 422 || !strings.Contains(r.body, `"field":"Idempotency-Key"`) {
			t.Errorf("%.80s: %d %s, want 422 naming Idempotency-Key", body, r.status, r.body)
		}
		if after := mustWriteState(t, pool); after != before {
			t.Errorf("%.80s: wrote %+v → %+v", body, before, after)
		}
	}
	f(p.reviewJSON(`"rating":5`))
	f(p.reviewJSON() + " ") // same JSON, other bytes: the raw body is hashed
	f(strings.Replace(p.reviewJSON(), ":", ": ", 1))
	other := mustProduct(t, pool, 1)
	f(other.reviewJSON())
}

func TestExpireIdempotencyKeys(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 1)
	old, young := keyFor(p, "old"), keyFor(p, "young")
	createdID(t, s.post(t, p.reviewJSON(), "Idempotency-Key", old))
	createdID(t, s.post(t, p.reviewJSON(), "Idempotency-Key", young))
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 minute' WHERE key = $1", old); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE idempotency_keys SET created_at = now() - interval '23 hours 59 minutes' WHERE key = $1", young); err != nil {
		t.Fatal(err)
	}
	// More than one batch of expired keys.
	if _, err := pool.Exec(ctx, `INSERT INTO idempotency_keys (key, request_hash, status, response, created_at)
		SELECT 'bulk-' || i, '\x00', 201, '{}', now() - interval '2 days' FROM generate_series(1, 12000) AS i`); err != nil {
		t.Fatal(err)
	}
	n, err := s.store().ExpireIdempotencyKeys(ctx, dayKeep)
	if err != nil || n != 12001 {
		t.Fatalf("expired %d, %v; want 12001", n, err)
	}
	var left []string
	rows, _ := pool.Query(ctx, "SELECT key FROM idempotency_keys WHERE key IN ($1, $2)", old, young)
	for rows.Next() {
		var k string
		rows.Scan(&k)
		left = append(left, k)
	}
	if len(left) != 1 || left[0] != young {
		t.Fatalf("keys left %v, want [%s]", left, young)
	}
	// The expired key may be used again.
	createdID(t, s.post(t, p.reviewJSON(`"rating":1`), "Idempotency-Key", old))
}
