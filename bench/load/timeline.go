package main

import (
	"math/bits"
	"sync"
	"time"
)

// timeline keeps each second of a run apart, per operation: requests,
// errors, empty answers and a coarse latency histogram, for the -json
// summary's timeline and the HTML report's latency over time. A second
// costs about 1 KiB per operation, so an hour of five operations stays
// under 20 MiB. Requests count in the second they were scheduled (open
// loop) or sent (closed loop). Safe for concurrent use.
type timeline struct {
	mu   sync.Mutex
	ops  map[string]int
	secs [][]secOp // [second][op index]
}

type secOp struct {
	requests, errors, empty int64
	max, sum                int64 // µs
	counts                  [coarseBuckets]uint32
}

// The coarse histogram: microseconds, every power of two split into 8
// steps (values known to within 12.5 %), 1 µs to over an hour.
const (
	coarseSub     = 8
	coarseBuckets = 33 * coarseSub
)

func coarseBucket(us int64) int {
	if us < coarseSub {
		if us < 0 {
			return 0
		}
		return int(us)
	}
	l := bits.Len64(uint64(us))
	shift := l - 4
	i := (shift+1)*coarseSub + int(us>>shift) - coarseSub
	if i >= coarseBuckets {
		return coarseBuckets - 1
	}
	return i
}

// coarseTop is the largest value bucket i holds.
func coarseTop(i int) int64 {
	g, r := i/coarseSub, i%coarseSub
	if g == 0 {
		return int64(r)
	}
	shift := g - 1
	return int64(r+coarseSub+1)<<shift - 1
}

// maxTimelineSeconds bounds the timeline (the runs are at most an hour,
// plus their slowest answers).
const maxTimelineSeconds = 2 * 3600

func newTimeline(ops []string) *timeline {
	t := &timeline{ops: map[string]int{}}
	for i, op := range ops {
		t.ops[op] = i
	}
	return t
}

func (t *timeline) record(at time.Duration, op string, ok, empty bool, latency time.Duration) {
	sec := int(at / time.Second)
	if sec < 0 {
		sec = 0
	}
	if sec >= maxTimelineSeconds {
		return
	}
	us := latency.Microseconds()
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.secs) <= sec {
		t.secs = append(t.secs, make([]secOp, len(t.ops)))
	}
	s := &t.secs[sec][t.ops[op]]
	s.requests++
	if !ok {
		s.errors++
	}
	if empty {
		s.empty++
	}
	if us > s.max {
		s.max = us
	}
	s.sum += us
	s.counts[coarseBucket(us)]++
}

// TimePoint is one second of a run (summary.go's Timeline).
type TimePoint struct {
	T        int                  `json:"t_s"` // seconds since the first scheduled start
	Requests int64                `json:"requests"`
	Errors   int64                `json:"errors"`
	Latency  Percentiles          `json:"latency_ms"`
	ByOp     map[string]TimeOpPct `json:"by_op"`
}

// TimeOpPct is one operation's share of a second.
type TimeOpPct struct {
	Requests int64       `json:"requests"`
	Errors   int64       `json:"errors"`
	Empty    int64       `json:"empty,omitempty"`
	Latency  Percentiles `json:"latency_ms"`
}

// points turns the timeline into its JSON form; percentiles are the top
// of their bucket, never above the second's largest value.
func (t *timeline) points() []TimePoint {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, len(t.ops))
	for op, i := range t.ops {
		names[i] = op
	}
	out := make([]TimePoint, 0, len(t.secs))
	for sec, row := range t.secs {
		p := TimePoint{T: sec, ByOp: map[string]TimeOpPct{}}
		var all secOp
		for i := range row {
			s := &row[i]
			if s.requests == 0 {
				continue
			}
			p.ByOp[names[i]] = TimeOpPct{Requests: s.requests, Errors: s.errors, Empty: s.empty, Latency: s.percentiles()}
			all.requests += s.requests
			all.errors += s.errors
			all.max = max(all.max, s.max)
			all.sum += s.sum
			for b, c := range s.counts {
				all.counts[b] += c
			}
		}
		p.Requests, p.Errors, p.Latency = all.requests, all.errors, all.percentiles()
		out = append(out, p)
	}
	return out
}

func (s *secOp) percentiles() Percentiles {
	if s.requests == 0 {
		return Percentiles{}
	}
	q := func(pct float64) float64 {
		rank := int64(pct/100*float64(s.requests) + 0.999999)
		var seen int64
		for i, c := range s.counts {
			seen += int64(c)
			if seen >= rank {
				return float64(min(coarseTop(i), s.max)) / 1000
			}
		}
		return float64(s.max) / 1000
	}
	return Percentiles{P50: q(50), P90: q(90), P95: q(95), P99: q(99), Max: float64(s.max) / 1000,
		Mean: float64(s.sum) / float64(s.requests) / 1000}
}
