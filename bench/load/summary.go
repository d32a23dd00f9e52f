package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/catwalk/reviews/bench/loadhtml"
)

// Summary is one run's figures for scripts (-json FILE): bench/cluster.sh
// reads one per rate step and turns them into its table and plot, so no
// script parses the human report. Latencies are milliseconds, from the
// same histograms as the report (rounded up to their bucket, never down).
//
// k6/lib.js's handleSummary writes the same fields (those k6 has: no
// service_ms, late, outcomes or timeline), with tool "k6", so that one
// results page (bench/loadreport) shows either.
type Summary struct {
	Tool     string `json:"tool"` // "bench/load"
	Scenario string `json:"scenario"`
	Mode     string `json:"mode"`
	// Products is the product range 1..Products the run drew from;
	// ProductsFrom says how it was known: "service" (discovered in
	// setup) or "flag" (-products).
	Products     int    `json:"products"`
	ProductsFrom string `json:"products_from"`
	// Rate is the offered rate (open loop; 0 in closed loop), MaxInFlight
	// its cap on outstanding requests; Conns the closed loop's connections.
	Rate        int     `json:"rate"`
	MaxInFlight int     `json:"max_in_flight,omitempty"`
	Conns       int     `json:"conns,omitempty"`
	Duration    float64 `json:"duration_s"` // asked for
	Elapsed     float64 `json:"elapsed_s"`  // first scheduled start to last answer
	Requests    int64   `json:"requests"`
	OK          int64   `json:"ok"`
	Errors      int64   `json:"errors"`
	ErrorRate   float64 `json:"error_rate"` // errors / requests (0 when none)
	Achieved    float64 `json:"achieved_rps"`
	// Latency is timed from the scheduled start in open loop (from the
	// send in closed loop); Service always from the send.
	Latency  Percentiles `json:"latency_ms"`
	Service  Percentiles `json:"service_ms"`
	Late     int64       `json:"late"`     // open loop: sent over 1 ms behind schedule
	Outcomes []string    `json:"outcomes"` // "200=123", "timeout=4", …
	// Failed is k6's http_req_failed: transport errors and status ≥ 400.
	Failed int64 `json:"failed"`
	// Empty is the good answers that held no data (all reads).
	Empty int64 `json:"empty"`
	// ByOp has one entry per operation of the mix.
	ByOp map[string]OpSummary `json:"by_op"`
	// The thresholds judged and their verdict (the exit status's): SLO
	// names the profile of scenarios.json; P99Limit is -p99 when it
	// replaced the profile's latency limits (0 otherwise), MaxErrorRate
	// the limit on failed requests that was judged.
	SLO          string      `json:"slo"`
	Thresholds   []Threshold `json:"thresholds"`
	P99Limit     float64     `json:"p99_limit_ms"`
	MaxErrorRate float64     `json:"max_error_rate"`
	Pass         bool        `json:"pass"`
	// Timeline has one point per second of the run.
	Timeline []TimePoint `json:"timeline,omitempty"`
}

// Percentiles of one histogram, in milliseconds, and one operation's share
// of a run: the report page reads the same JSON, so the types are its own.
type (
	Percentiles = loadhtml.Percentiles
	OpSummary   = loadhtml.OpSummary
)

func percentiles(h *Histogram) Percentiles {
	return Percentiles{
		P50: msFloat(h.Percentile(50)), P90: msFloat(h.Percentile(90)), P95: msFloat(h.Percentile(95)), P99: msFloat(h.Percentile(99)),
		Max: msFloat(h.Max()), Mean: msFloat(h.Mean()),
	}
}

func msFloat(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize gathers st's figures; the caller fills in the load's shape
// (Rate, MaxInFlight or Conns, Duration) and the products.
func summarize(name, mode string, st *Stats, elapsed time.Duration, c criteria, slo string, th []Threshold, pass bool) *Summary {
	s := &Summary{
		Tool: "bench/load", Scenario: name, Mode: mode,
		Elapsed:  elapsed.Seconds(),
		Requests: st.Requests(), OK: st.OK(), Errors: st.Errors(),
		Latency: percentiles(st.Latency), Service: percentiles(st.Service),
		Late: st.Late.Load(), Outcomes: st.Outcomes(),
		Failed: st.Failed(), Empty: st.Empty(),
		ByOp: make(map[string]OpSummary, len(st.ops)),
		SLO:  slo, Thresholds: th,
		P99Limit: msFloat(c.p99), MaxErrorRate: c.maxErr, Pass: pass,
		Timeline: st.timeline.points(),
	}
	if s.Outcomes == nil {
		s.Outcomes = []string{}
	}
	if s.Requests > 0 {
		s.ErrorRate = float64(s.Errors) / float64(s.Requests)
	}
	if elapsed > 0 {
		s.Achieved = float64(s.Requests) / elapsed.Seconds()
	}
	for _, op := range st.ops {
		o := st.ByOp[op]
		s.ByOp[op] = OpSummary{Requests: o.Latency.Count(), Errors: o.Errors(), Empty: o.Empty(), Latency: percentiles(o.Latency)}
	}
	return s
}

// write stores s as indented JSON at path, whole or not at all: a reader
// never sees half a file.
func (s *Summary) write(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("-json: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("-json: %w", err)
	}
	return nil
}
