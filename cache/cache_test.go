package cache

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustCache(tb testing.TB) *Cache {
	tb.Helper()
	c, err := New(8<<20, time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

func TestFetchCachesAndInvalidates(t *testing.T) {
	c := mustCache(t)
	k := Key{Kind: KindMeta, Product: 7}
	calls := 0
	fill := func() ([]byte, error) { calls++; return []byte("body"), nil }
	for range 2 {
		got, err := c.Fetch(k, fill)
		if err != nil || string(got) != "body" {
			t.Fatalf("Fetch = %q, %v", got, err)
		}
		c.Wait()
	}
	if calls != 1 {
		t.Fatalf("fill ran %d times, want 1", calls)
	}
	other := Key{Kind: KindMeta, Product: 8}
	if _, err := c.Fetch(other, fill); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	c.InvalidateProduct(7)
	if _, ok := c.Get(k); ok {
		t.Fatal("entry of an invalidated product is still served")
	}
	if _, ok := c.Get(other); !ok {
		t.Fatal("invalidating product 7 dropped product 8")
	}
	c.Clear()
	if _, ok := c.Get(other); ok {
		t.Fatal("Clear kept an entry")
	}
	if s := c.Stats(); s.Hits == 0 || s.Misses == 0 || s.Invalidations != 1 || s.Clears != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestKeysDoNotCollide(t *testing.T) {
	c := mustCache(t)
	keys := []Key{
		{Kind: KindList, Product: 1, Page: 1, Count: 5, Sort: 1},
		{Kind: KindList, Product: 1, Page: 1, Count: 5, Sort: 2},
		{Kind: KindList, Product: 1, Page: 2, Count: 5, Sort: 1},
		{Kind: KindList, Product: 1, Page: 1, Count: 6, Sort: 1},
		{Kind: KindMeta, Product: 1},
		{Kind: KindList, Product: 2, Page: 1, Count: 5, Sort: 1},
	}
	for i, k := range keys {
		body := []byte{byte('a' + i)}
		if _, err := c.Fetch(k, func() ([]byte, error) { return body, nil }); err != nil {
			t.Fatal(err)
		}
	}
	c.Wait()
	for i, k := range keys {
		got, ok := c.Get(k)
		if ok && string(got) != string(rune('a'+i)) {
			t.Errorf("key %+v served %q", k, got)
		}
	}
}

func TestFetchErrorIsNotCached(t *testing.T) {
	c := mustCache(t)
	k := Key{Kind: KindMeta, Product: 3}
	boom := errors.New("boom")
	if _, err := c.Fetch(k, func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	c.Wait()
	if _, ok := c.Get(k); ok {
		t.Fatal("a failed fill was cached")
	}
}

func TestConcurrentMissesFillOnce(t *testing.T) {
	c := mustCache(t)
	k := Key{Kind: KindList, Product: 9, Page: 1, Count: 5}
	var calls atomic.Int32
	release := make(chan struct{})
	var wg, started sync.WaitGroup
	started.Add(20)
	for range 20 {
		wg.Go(func() {
			started.Done()
			c.Fetch(k, func() ([]byte, error) {
				calls.Add(1)
				<-release
				return []byte("x"), nil
			})
		})
	}
	started.Wait()
	time.Sleep(200 * time.Millisecond) // let every goroutine join the flight
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("fill ran %d times for 20 concurrent misses, want 1", n)
	}
}

// TestFillRacingInvalidationIsNotServed: a body computed before a write
// committed must never be served after the write's invalidation.
func TestFillRacingInvalidationIsNotServed(t *testing.T) {
	c := mustCache(t)
	k := Key{Kind: KindMeta, Product: 5}
	_, err := c.Fetch(k, func() ([]byte, error) {
		c.InvalidateProduct(5) // the write commits while the query runs
		return []byte("stale"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Wait()
	if got, ok := c.Get(k); ok {
		t.Fatalf("served %q filled before the invalidation", got)
	}
}
