package main

import (
	"math"
	"sync"
	"testing"
	"time"
)

func TestBucketBoundsSuccess(t *testing.T) {
	f := func(v int64) {
		t.Helper()
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside 0..%d", v, i, numBuckets-1)
		}
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Fatalf("bucketOf(%d) = %d holds %d..%d", v, i, lo, hi)
		}
		if lo > 0 && float64(hi-lo)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucket %d: %d..%d is wider than 1/%d of its floor", i, lo, hi, subBuckets)
		}
	}
	for v := range int64(5000) {
		f(v)
	}
	for v := int64(5000); v > 0 && v < math.MaxInt64/3; v = v*3 + 7 {
		f(v)
		f(v - 1)
		f(v + 1)
	}
	f(math.MaxInt64)
	// Buckets tile the values: each one starts right after the previous.
	for i := 1; i < numBuckets; i++ {
		_, prevHi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if prevHi == math.MaxInt64 {
			break
		}
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevHi)
		}
	}
}

func TestPercentileSuccess(t *testing.T) {
	h := NewHistogram()
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	f := func(q float64, want time.Duration) {
		t.Helper()
		got := h.Percentile(q)
		if got < want || float64(got-want) > float64(want)/subBuckets {
			t.Fatalf("p%g = %s, want %s (at most 1/%d above)", q, got, want, subBuckets)
		}
	}
	f(50, 5*time.Millisecond)
	f(90, 9*time.Millisecond)
	f(99, 9900*time.Microsecond)
	f(99.99, 9999*time.Microsecond)
	f(100, 10*time.Millisecond)
	if got, want := h.Count(), int64(10000); got != want {
		t.Fatalf("Count = %d, want %d", got, want)
	}
	if got, want := h.Max(), 10*time.Millisecond; got != want {
		t.Fatalf("Max = %s, want %s", got, want)
	}
	if got, want := h.Min(), time.Microsecond; got != want {
		t.Fatalf("Min = %s, want %s", got, want)
	}
	if got, want := h.Mean(), 5000500*time.Nanosecond; got != want {
		t.Fatalf("Mean = %s, want %s", got, want)
	}
}

func TestPercentileOutlierSuccess(t *testing.T) {
	// 98 fast answers and 2 slow ones: p99 must see a slow one.
	h := NewHistogram()
	for range 98 {
		h.Record(time.Millisecond)
	}
	h.Record(2 * time.Second)
	h.Record(2 * time.Second)
	if got := h.Percentile(98); got < time.Millisecond || got > time.Millisecond+time.Millisecond/subBuckets {
		t.Fatalf("p98 = %s, want 1ms (at most 1/%d above)", got, subBuckets)
	}
	if got := h.Percentile(99); got != 2*time.Second {
		t.Fatalf("p99 = %s, want 2s", got)
	}
}

func TestPercentileEmptySuccess(t *testing.T) {
	h := NewHistogram()
	if h.Percentile(99) != 0 || h.Max() != 0 || h.Min() != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Fatal("an empty histogram reports non-zero values")
	}
	h.Record(-time.Second)
	if h.Count() != 1 || h.Max() != 0 {
		t.Fatalf("a negative duration must count as 0: count %d max %s", h.Count(), h.Max())
	}
}

func TestRecordConcurrentSuccess(t *testing.T) {
	h := NewHistogram()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000+i+1) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	if got, want := h.Count(), int64(8000); got != want {
		t.Fatalf("Count = %d, want %d", got, want)
	}
	if got, want := h.Max(), 8*time.Millisecond; got != want {
		t.Fatalf("Max = %s, want %s", got, want)
	}
	if got, want := h.Min(), time.Microsecond; got != want {
		t.Fatalf("Min = %s, want %s", got, want)
	}
}
