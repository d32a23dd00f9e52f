package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Stats counts the outcome of every request of a run. Safe for concurrent use.
type Stats struct {
	// Latency runs from each request's scheduled start in open-loop mode
	// (waiting for a free slot counts: no coordinated omission), from its
	// send in closed-loop mode.
	Latency *Histogram
	// Service runs from the moment the request was handed to the client.
	Service *Histogram

	ok     atomic.Int64
	status [600]atomic.Int64

	mu        sync.Mutex
	transport map[string]int64
	// Late counts open-loop requests sent more than a millisecond after
	// their scheduled time (the generator or the in-flight cap fell behind).
	Late atomic.Int64

	// ByOp has one entry per operation of the mix, made before the run.
	ByOp map[string]*OpStats
	ops  []string

	// failed counts what k6 calls http_req_failed: transport errors and
	// answers of status 400 or more (a 200 to a POST is not failed, but
	// fails its check, so it counts in Errors).
	failed atomic.Int64
	// timeline keeps each second apart (timeline.go).
	timeline *timeline
}

// OpStats is the share of one operation.
type OpStats struct {
	Latency *Histogram
	ok      atomic.Int64
	// empty counts good answers with nothing in them: a list with
	// "results":[], a meta of a product without reviews. A run whose reads
	// are mostly empty measures a database smaller than its product range.
	empty atomic.Int64
}

// Empty is the operation's good answers that held no data.
func (o *OpStats) Empty() int64 { return o.empty.Load() }

// Errors is the operation's requests minus its good answers.
func (o *OpStats) Errors() int64 { return o.Latency.Count() - o.ok.Load() }

func newStats(mix []Weighted) *Stats {
	s := &Stats{Latency: NewHistogram(), Service: NewHistogram(), transport: map[string]int64{}, ByOp: map[string]*OpStats{}}
	for _, m := range mix {
		if s.ByOp[m.Op] == nil {
			s.ByOp[m.Op] = &OpStats{Latency: NewHistogram()}
			s.ops = append(s.ops, m.Op)
		}
	}
	s.timeline = newTimeline(s.ops)
	return s
}

// record counts one request: at is its start (scheduled or sent) since
// the run's start, empty whether its good answer held no data.
func (s *Stats) record(op string, status int, err error, empty bool, at, latency, service time.Duration) {
	s.Latency.Record(latency)
	s.Service.Record(service)
	o := s.ByOp[op]
	o.Latency.Record(latency)
	ok := err == nil && status == wantStatus[op]
	if ok {
		o.ok.Add(1)
		if empty {
			o.empty.Add(1)
		}
	}
	if err != nil || status >= 400 {
		s.failed.Add(1)
	}
	s.timeline.record(at, op, ok, ok && empty, latency)
	switch {
	case err != nil:
		s.mu.Lock()
		s.transport[transportClass(err)]++
		s.mu.Unlock()
	case status >= 0 && status < len(s.status):
		s.status[status].Add(1)
		if status == wantStatus[op] {
			s.ok.Add(1)
		}
	default:
		s.mu.Lock()
		s.transport["bad status line"]++
		s.mu.Unlock()
	}
}

// transportClass names a transport error by kind, so the report stays short.
func transportClass(err error) string {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout):
		return "timeout"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no free connections"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "connection closed"
	}
	msg := err.Error()
	if strings.Contains(msg, "connection refused") {
		return "connection refused"
	}
	if len(msg) > 80 {
		msg = msg[:80]
	}
	return msg
}

// Requests is the number of requests that finished.
func (s *Stats) Requests() int64 { return s.Latency.Count() }

// OK is the number of requests answered with their operation's status.
func (s *Stats) OK() int64 { return s.ok.Load() }

// Errors is Requests − OK.
func (s *Stats) Errors() int64 { return s.Requests() - s.OK() }

// Failed is the requests k6 would count in http_req_failed.
func (s *Stats) Failed() int64 { return s.failed.Load() }

// Empty is the good answers that held no data, all operations together.
func (s *Stats) Empty() int64 {
	var n int64
	for _, o := range s.ByOp {
		n += o.Empty()
	}
	return n
}

// Outcomes lists "status=count" (and transport errors) in a stable order.
func (s *Stats) Outcomes() []string {
	var out []string
	for code := range s.status {
		if n := s.status[code].Load(); n > 0 {
			out = append(out, strconv.Itoa(code)+"="+strconv.FormatInt(n, 10))
		}
	}
	s.mu.Lock()
	var kinds []string
	for k := range s.transport {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		out = append(out, k+"="+strconv.FormatInt(s.transport[k], 10))
	}
	s.mu.Unlock()
	return out
}

// picker draws operations by weight.
type picker struct {
	ops  []string
	upto []int
}

func newPicker(mix []Weighted) *picker {
	p := &picker{}
	sum := 0
	for _, m := range mix {
		sum += m.Weight
		p.ops = append(p.ops, m.Op)
		p.upto = append(p.upto, sum)
	}
	return p
}

func (p *picker) pick() string {
	x := rand.IntN(p.upto[len(p.upto)-1])
	i := sort.SearchInts(p.upto, x+1)
	return p.ops[i]
}

// earlySend lets open-loop requests go this much before their time (with
// pacerTick, at most earlySend + pacerTick): Go's timers on Linux wake up
// to about a millisecond late, and sleeping to the exact time would add
// that to every request's latency.
const earlySend = time.Millisecond

// pacerTick is the shortest sleep of the open loop's pacer: when the next
// request is due sooner than that (after earlySend), it goes at once. At
// 10,000 req/s the pacer then wakes about once a millisecond for a burst
// of ten instead of once per request, and the load generator takes fewer
// of the cores it shares with the system under test (bench/cluster.sh).
const pacerTick = time.Millisecond

// runOpen starts total requests at rate per second, on schedule whatever the
// answers take (open loop, like k6's constant-arrival-rate and wrk2), with at
// most inFlight outstanding. A request is timed from its scheduled start
// when it leaves late (a full in-flight cap counts: no coordinated
// omission), from its send when it leaves early. It returns the time from
// the first scheduled start to the last answer.
//
// The requests are sent by workers started as the load needs them (at most
// inFlight) that live for the run, not by a goroutine per request: a new
// goroutine per request grew its stack anew for every request.
func runOpen(ctx context.Context, t *target, p *picker, rate int, total int64, inFlight int, st *Stats) time.Duration {
	jobs := make(chan time.Time)
	var wg sync.WaitGroup
	per := float64(time.Second) / float64(rate)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	send := func(due time.Time) {
		op := p.pick()
		sent := time.Now()
		status, empty, err := t.do(op)
		now := time.Now()
		// Late: timed from when it should have gone. Early: from when it went.
		from := due
		if sent.Before(due) {
			from = sent
		}
		st.record(op, status, err, empty, due.Sub(start), now.Sub(from), now.Sub(sent))
	}
	worker := func(first time.Time) {
		defer wg.Done()
		send(first)
		for due := range jobs {
			send(due)
		}
	}
	workers := 0
loop:
	for i := int64(0); i < total; i++ {
		due := start.Add(time.Duration(float64(i) * per))
		if d := time.Until(due) - earlySend; d > pacerTick {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		// A worker that is free takes it; else a new one, up to the cap;
		// else wait for one to be free (the cap is full).
		select {
		case jobs <- due:
		default:
			if workers < inFlight {
				workers++
				wg.Add(1)
				go worker(due)
			} else {
				select {
				case <-ctx.Done():
					break loop
				case jobs <- due:
				}
			}
		}
		if time.Since(due) > time.Millisecond {
			st.Late.Add(1)
		}
	}
	close(jobs)
	wg.Wait()
	return time.Since(start)
}

// runClosed keeps conns requests outstanding, each connection sending its
// next request when the previous one is answered (closed loop, like wrk),
// until d has passed or maxRequests were sent.
func runClosed(ctx context.Context, t *target, p *picker, conns int, d time.Duration, maxRequests int64, st *Stats) time.Duration {
	var sent atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(stop) && sent.Add(1) <= maxRequests {
				op := p.pick()
				t0 := time.Now()
				status, empty, err := t.do(op)
				lat := time.Since(t0)
				st.record(op, status, err, empty, t0.Sub(start), lat, lat)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}
