package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// SLO is the service level objective of scenarios.json, written once and
// judged by both runners: k6/lib.js turns a profile into k6 thresholds,
// judge below applies the same ones here. README, "Load testing", says
// what each means.
type SLO struct {
	Default  string              `json:"default"`
	Profiles map[string]*Profile `json:"profiles"`
}

// Profile is one set of thresholds: "slo" (the objective) or "seed" (the
// seed's bar). Latency is judged per operation, by the limits of its class.
type Profile struct {
	Description   string  `json:"description"`
	Read          Class   `json:"read"`
	Write         Class   `json:"write"`
	MaxErrorRate  float64 `json:"max_error_rate"`  // failed requests / requests, at most
	MinChecksRate float64 `json:"min_checks_rate"` // requests answered as API.md says / requests, at least
}

// Class is the latency limits of a group of operations, in milliseconds,
// strictly below (k6's p(95)<50); 0 leaves a percentile unjudged.
type Class struct {
	Ops   []string `json:"ops"`
	P95Ms float64  `json:"p95_ms,omitempty"`
	P99Ms float64  `json:"p99_ms,omitempty"`
}

func (s *SLO) validate() error {
	if len(s.Profiles) == 0 {
		return errors.New("no profiles")
	}
	if s.Profiles[s.Default] == nil {
		return fmt.Errorf("default profile %q is not among the profiles", s.Default)
	}
	for name, p := range s.Profiles {
		if p == nil {
			return fmt.Errorf("profile %q is null", name)
		}
		if err := p.validate(); err != nil {
			return fmt.Errorf("profile %q: %w", name, err)
		}
	}
	return nil
}

func (p *Profile) validate() error {
	seen := map[string]bool{}
	for _, c := range []*Class{&p.Read, &p.Write} {
		if c.P95Ms < 0 || c.P99Ms < 0 || c.P95Ms+c.P99Ms == 0 {
			return errors.New("each class needs p95_ms or p99_ms > 0 (and none negative)")
		}
		for _, op := range c.Ops {
			if !ops[op] || seen[op] {
				return fmt.Errorf("op %q unknown or in two classes", op)
			}
			seen[op] = true
		}
	}
	if len(seen) != len(ops) {
		return errors.New("read and write must name every op between them")
	}
	if p.MaxErrorRate < 0 || p.MaxErrorRate > 1 || p.MinChecksRate < 0 || p.MinChecksRate > 1 {
		return errors.New("max_error_rate and min_checks_rate must be in [0, 1]")
	}
	return nil
}

// class is the latency limits of op.
func (p *Profile) class(op string) Class {
	for _, o := range p.Write.Ops {
		if o == op {
			return p.Write
		}
	}
	return p.Read
}

// Profile returns the named profile ("" the default).
func (s *SLO) Profile(name string) (*Profile, string, error) {
	if name == "" {
		name = s.Default
	}
	p := s.Profiles[name]
	if p == nil {
		names := make([]string, 0, len(s.Profiles))
		for n := range s.Profiles {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, name, fmt.Errorf("no SLO profile %q (have %v)", name, names)
	}
	return p, name, nil
}

// Threshold is one judged threshold, named as k6 names it, so that a k6
// summary (k6/lib.js handleSummary) and a bench/load -json list the same.
type Threshold struct {
	Metric    string  `json:"metric"`    // http_req_duration{op:list}, http_req_failed, checks
	Condition string  `json:"threshold"` // p(95)<50, rate<=0.001, rate>=0.999
	Value     float64 `json:"value"`     // the run's figure (ms for durations, a share for rates)
	OK        bool    `json:"ok"`
}

// criteria are the thresholds of one run: a profile, or the figures of the
// command line that replace it (-p99, -max-error-rate).
type criteria struct {
	profile *Profile
	// p99, when set, replaces the per-operation latency limits by one on
	// the p99 of all requests (bench/cluster.sh's capacity steps).
	p99       time.Duration
	maxErr    float64
	minChecks float64
}

// judge applies c to st. Latency is not judged in closed loop: it saturates
// the service on purpose, and its latencies suffer coordinated omission.
func judge(st *Stats, mode string, c criteria) []Threshold {
	var out []Threshold
	add := func(metric, cond string, v float64, ok bool) {
		out = append(out, Threshold{Metric: metric, Condition: cond, Value: v, OK: ok})
	}
	n := st.Requests()
	if mode == "open" {
		if c.p99 > 0 {
			got := st.Latency.Percentile(99)
			add("http_req_duration", "p(99)<"+fmtNum(msFloat(c.p99)), msFloat(got), n > 0 && got < c.p99)
		} else {
			for _, op := range st.ops {
				h := st.ByOp[op].Latency
				cl := c.profile.class(op)
				for _, q := range []struct {
					p     float64
					limit float64
				}{{95, cl.P95Ms}, {99, cl.P99Ms}} {
					if q.limit <= 0 {
						continue
					}
					got := msFloat(h.Percentile(q.p))
					// An operation drawn too rarely to be sent has no
					// figure; k6 passes such a threshold too.
					add("http_req_duration{op:"+op+"}", "p("+fmtNum(q.p)+")<"+fmtNum(q.limit), got, got < q.limit)
				}
			}
		}
	}
	failed, checks := 0.0, 0.0
	if n > 0 {
		failed = float64(st.Failed()) / float64(n)
		checks = float64(st.OK()) / float64(n)
	}
	add("http_req_failed", "rate<="+fmtNum(c.maxErr), failed, n > 0 && failed <= c.maxErr)
	add("checks", "rate>="+fmtNum(c.minChecks), checks, n > 0 && checks >= c.minChecks)
	return out
}

// printThresholds writes one line per threshold and reports whether all
// passed.
func printThresholds(w io.Writer, name string, th []Threshold) bool {
	pass := true
	fmt.Fprintf(w, "thresholds (%s):\n", name)
	for _, t := range th {
		verdict := "PASS"
		if !t.OK {
			verdict, pass = "FAIL", false
		}
		v := strconv.FormatFloat(t.Value, 'f', 3, 64) + "ms"
		if t.Metric == "http_req_failed" || t.Metric == "checks" {
			v = strconv.FormatFloat(t.Value, 'f', 5, 64)
		}
		fmt.Fprintf(w, "  %s %s %s (%s)\n", verdict, t.Metric, t.Condition, v)
	}
	return pass
}

// fmtNum prints a number as k6 threshold expressions do: no trailing zeros.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
