package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records durations in a log-linear layout, as HDR histograms do:
// every power of two is split into subBuckets equal steps, so a recorded
// value is known to within 1/subBuckets (< 0.8 %) of itself, from 1 ns to
// the largest time.Duration, in a fixed array. Record is safe for concurrent
// use and allocation-free; read the results after the writers stop.
type Histogram struct {
	counts [numBuckets]atomic.Int64
	total  atomic.Int64
	max    atomic.Int64
	min    atomic.Int64
	sum    atomic.Int64
}

const (
	subBits    = 7
	subBuckets = 1 << subBits
	numBuckets = (64 - subBits + 1) * subBuckets
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	h := &Histogram{}
	h.min.Store(math.MaxInt64)
	return h
}

// bucketOf is the index of the bucket that holds v ≥ 0.
func bucketOf(v int64) int {
	u := uint64(v)
	if u < subBuckets {
		return int(u)
	}
	l := bits.Len64(u) // ≥ subBits+1
	shift := l - subBits - 1
	m := u >> shift // top subBits+1 bits, in [subBuckets, 2·subBuckets)
	return (shift+1)*subBuckets + int(m) - subBuckets
}

// bucketRange is the smallest and largest value bucket i holds.
func bucketRange(i int) (lo, hi int64) {
	g, r := i/subBuckets, i%subBuckets
	if g == 0 {
		return int64(r), int64(r)
	}
	m := uint64(r + subBuckets)
	shift := uint(g - 1)
	lo64 := m << shift
	hi64 := (m+1)<<shift - 1
	if hi64 > math.MaxInt64 || hi64 < lo64 {
		hi64 = math.MaxInt64
	}
	return int64(lo64), int64(hi64)
}

// Record adds one duration; negative durations count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if v >= m || h.min.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 { return h.total.Load() }

// Max is the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Min is the smallest recorded value, exactly (0 when empty).
func (h *Histogram) Min() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.min.Load())
}

// Mean is the average of the recorded values, exactly.
func (h *Histogram) Mean() time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Percentile is the value at or below which q percent (0 < q ≤ 100) of the
// recorded values lie: the top of the bucket holding that rank, never more
// than Max. Like HDR histograms it may overstate by one bucket width, never
// understate.
func (h *Histogram) Percentile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q / 100 * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			_, hi := bucketRange(i)
			if m := h.max.Load(); hi > m {
				hi = m
			}
			return time.Duration(hi)
		}
	}
	return h.Max()
}
