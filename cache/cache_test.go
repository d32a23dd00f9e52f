package cache

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
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

// TestConcurrentMissesFillOnce: misses of one key that overlap run one fill.
// The callers run in a synctest bubble: synctest.Wait returns once every
// one of them is blocked, the first in its fill on release, the others on
// that flight (a caller that had not joined it would still be running, or
// blocked in a fill of its own).
func TestConcurrentMissesFillOnce(t *testing.T) {
	c := mustCache(t)
	k := Key{Kind: KindList, Product: 9, Page: 1, Count: 5}
	var calls atomic.Int32
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				c.Fetch(k, func() ([]byte, error) {
					calls.Add(1)
					<-release
					return []byte("x"), nil
				})
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
	})
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

// TestChargedBytesMatchHeap: what Stats.Bytes says the entries hold is
// within 10 % of the heap they really keep alive for entries of mixed
// sizes; for the smallest (the empty pages of the distinct-pages flood),
// where the bookkeeping weighs most and ristretto's maps' growth steps
// (each doubles its slots) swing the real overhead by ±65 bytes an entry,
// within 20 %.
// Charging only len(body), as the cache once did, undercounts small
// entries five times over.
func TestChargedBytesMatchHeap(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sizes       []int
		under, over float64 // held/charged - 1 may range over [-under, over]
	}{
		{"empty pages", []int{60}, 0.20, 0.20},
		{"mixed", []int{60, 300, 700, 2500, 9000}, 0.10, 0.10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const maxBytes = 16 << 20
			base := liveHeap()
			c, err := New(maxBytes, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fixed := liveHeap() - base // counters, generation slots, buffers
			src := make([]byte, 9000)
			for i := range src {
				src[i] = 'x'
			}
			// Twice as many bytes as fit, so the cache fills and evicts.
			var filled int64
			for i := 0; filled < 2*maxBytes; i++ {
				n := tc.sizes[i%len(tc.sizes)]
				k := Key{Kind: KindList, Product: uint32(i%5000 + 1), Page: uint32(i), Count: 1000000}
				body := append([]byte(nil), src[:n]...)
				if _, err := c.Fill(k, func() ([]byte, error) { return body, nil }); err != nil {
					t.Fatal(err)
				}
				filled += Cost(body)
				if i%1000 == 0 {
					c.Wait() // let the admission goroutine keep up
				}
			}
			c.Wait()
			held := liveHeap() - base - fixed
			charged := int64(c.Stats().Bytes)
			t.Logf("charged %d, heap held %d (fixed %d), ratio %.3f", charged, held, fixed, float64(held)/float64(charged))
			if charged > maxBytes || charged < maxBytes/2 {
				t.Fatalf("charged %d bytes: want the cache near full and at most %d", charged, maxBytes)
			}
			if d := float64(held-charged) / float64(charged); d > tc.over || d < -tc.under {
				t.Fatalf("entries hold %d bytes of heap, the cache charges %d (%+.1f %%; want %+.0f %% to %+.0f %%)", held, charged, 100*d, -100*tc.under, 100*tc.over)
			}
		})
	}
}

// liveHeap is the heap in use after garbage collection.
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
