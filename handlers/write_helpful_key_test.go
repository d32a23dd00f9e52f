package handlers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// putKey sends PUT path with an Idempotency-Key.
func (s *testServer) putKey(tb testing.TB, path, key string) response {
	tb.Helper()
	return s.do(tb, "PUT", path, "", "", "Idempotency-Key", key)
}

func keyCount(tb testing.TB, s *testServer) int64 {
	tb.Helper()
	var n int64
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM idempotency_keys").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestHelpfulIdempotencyKeySuccess(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)

	t.Run("RetryVotesOnce", func(t *testing.T) {
		p := mustProduct(t, pool, 1)
		id := createdID(t, s.post(t, p.reviewJSON()))
		keys := prefill(t, s.cache, p.id)
		path := fmt.Sprintf("/reviews/%d/helpful", id)
		noContent(t, s.putKey(t, path, keyFor(p, "vote")))
		if _, ok := s.cache.Get(keys[0]); ok {
			t.Fatal("the product's cached response survived a keyed vote")
		}
		before := mustWriteState(t, pool)
		for range 3 {
			noContent(t, s.putKey(t, path, keyFor(p, "vote")))
		}
		keys = prefill(t, s.cache, p.id)
		noContent(t, s.putKey(t, path, keyFor(p, "vote")))
		if _, ok := s.cache.Get(keys[0]); ok {
			t.Fatal("a replayed vote left the product cached (its first try may have died before evicting)")
		}
		// The same review spelled with leading zeros is the same request.
		noContent(t, s.putKey(t, fmt.Sprintf("/reviews/000%d/helpful", id), keyFor(p, "vote")))
		if after := mustWriteState(t, pool); after != before {
			t.Fatalf("retries wrote: %+v → %+v", before, after)
		}
		if h, ok := helpfulness(t, s, id); h != 1 || !ok {
			t.Fatalf("helpfulness %d, score matches %v; want 1, true", h, ok)
		}
	})

	t.Run("KeysAreIndependent", func(t *testing.T) {
		p := mustProduct(t, pool, 1)
		id := createdID(t, s.post(t, p.reviewJSON()))
		path := fmt.Sprintf("/reviews/%d/helpful", id)
		noContent(t, s.putKey(t, path, keyFor(p, "a")))
		noContent(t, s.putKey(t, path, keyFor(p, "b")))
		noContent(t, s.put(t, path))
		noContent(t, s.putKey(t, path, "")) // empty: absent
		noContent(t, s.putKey(t, path, ""))
		if h, _ := helpfulness(t, s, id); h != 5 {
			t.Fatalf("helpfulness %d, want 5", h)
		}
	})

	t.Run("UnknownReviewStoresNoKey", func(t *testing.T) {
		p := mustProduct(t, pool, 1)
		id := createdID(t, s.post(t, p.reviewJSON()))
		before := keyCount(t, s)
		if r := s.putKey(t, "/reviews/2147483001/helpful", keyFor(p, "404")); r.status != 404 {
			t.Fatalf("unknown review: %d %s", r.status, r.body)
		}
		if after := keyCount(t, s); after != before {
			t.Fatalf("a 404 stored its key: %d → %d keys", before, after)
		}
		// Only successes are remembered: the key is still free.
		noContent(t, s.putKey(t, fmt.Sprintf("/reviews/%d/helpful", id), keyFor(p, "404")))
		if h, _ := helpfulness(t, s, id); h != 1 {
			t.Fatalf("helpfulness %d, want 1", h)
		}
	})

	t.Run("LongestKey", func(t *testing.T) {
		p := mustProduct(t, pool, 1)
		id := createdID(t, s.post(t, p.reviewJSON()))
		key := strings.Repeat("ключ", 63) + fmt.Sprintf("%03d", p.id%1000) // 255 characters, more bytes
		path := fmt.Sprintf("/reviews/%d/helpful", id)
		noContent(t, s.putKey(t, path, key))
		noContent(t, s.putKey(t, path, key))
		if h, _ := helpfulness(t, s, id); h != 1 {
			t.Fatalf("helpfulness %d, want 1", h)
		}
	})

	t.Run("ConcurrentDuplicatesVoteOnce", func(t *testing.T) {
		p := mustProduct(t, pool, 1)
		id := createdID(t, s.post(t, p.reviewJSON()))
		path := fmt.Sprintf("/reviews/%d/helpful", id)
		// Twenty keys, each sent ten times at once: twenty votes.
		const keys, copies = 20, 10
		var wg sync.WaitGroup
		var mu sync.Mutex
		bad := map[int]int{}
		for k := range keys {
			for range copies {
				wg.Go(func() {
					if r := s.putKey(t, path, keyFor(p, fmt.Sprintf("race-%d", k))); r.status != 204 {
						mu.Lock()
						bad[r.status]++
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		if len(bad) > 0 {
			t.Fatalf("answers other than 204, by status: %v", bad)
		}
		if h, ok := helpfulness(t, s, id); h != keys || !ok {
			t.Fatalf("helpfulness %d, score matches %v; want %d, true", h, ok, keys)
		}
	})

	t.Run("ReportChecksButDoesNotRecordKeys", func(t *testing.T) {
		p := mustProduct(t, pool, 1)
		id := createdID(t, s.post(t, p.reviewJSON()))
		before := keyCount(t, s)
		path := fmt.Sprintf("/reviews/%d/report", id)
		noContent(t, s.putKey(t, path, keyFor(p, "report")))
		noContent(t, s.putKey(t, path, keyFor(p, "report")))
		if after := keyCount(t, s); after != before {
			t.Fatalf("report stored its key: %d → %d keys", before, after)
		}
		if r := mustReview(t, s, id); !r.Reported {
			t.Fatal("not reported")
		}
	})
}

func TestHelpfulIdempotencyKeyFailure(t *testing.T) {
	pool := mustPool(t)
	s := mustServer(t, pool)
	p := mustProduct(t, pool, 1)
	a := createdID(t, s.post(t, p.reviewJSON()))
	b := createdID(t, s.post(t, p.reviewJSON()))
	voteKey, postKey := keyFor(p, "vote-a"), keyFor(p, "post")
	noContent(t, s.putKey(t, fmt.Sprintf("/reviews/%d/helpful", a), voteKey))
	createdID(t, s.post(t, p.reviewJSON(), "Idempotency-Key", postKey))

	f := func(method, path, body, key, wantMsg string) {
		t.Helper()
		before := mustWriteState(t, pool)
		ct := ""
		if body != "" {
			ct = "application/json"
		}
		r := s.do(t, method, path, ct, body, "Idempotency-Key", key)
		if r.status != 422 || !strings.Contains(r.body, `"field":"Idempotency-Key"`) || !strings.Contains(r.body, wantMsg) {
			t.Errorf("%s %s with key %.20q: %d %s, want 422 naming Idempotency-Key (%s)", method, path, key, r.status, r.body, wantMsg)
		}
		if after := mustWriteState(t, pool); after != before {
			t.Errorf("%s %s wrote: %+v → %+v", method, path, before, after)
		}
	}
	helpfulB, reportB := fmt.Sprintf("/reviews/%d/helpful", b), fmt.Sprintf("/reviews/%d/report", b)
	// A vote's key on another review, a POST's key on a vote, a vote's key on a POST.
	f("PUT", helpfulB, "", voteKey, "different request")
	f("PUT", helpfulB, "", postKey, "different request")
	f("POST", "/reviews", p.reviewJSON(), voteKey, "different request")
	// The key's form, as on POST.
	for _, path := range []string{helpfulB, reportB} {
		f("PUT", path, "", strings.Repeat("k", 256), "at most 255")
		f("PUT", path, "", "bad\xffutf8", "at most 255")
	}
	if h, _ := helpfulness(t, s, b); h != 0 {
		t.Fatalf("review b has %d votes, want 0", h)
	}
}
