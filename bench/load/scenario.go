package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"
)

// File is k6/scenarios.json: the scenarios k6/*.js and this runner share.
type File struct {
	FullScale FullScale            `json:"full_scale"`
	Setup     Setup                `json:"setup"`
	SLO       SLO                  `json:"slo"`
	Scenarios map[string]*Scenario `json:"scenarios"`
}

// FullScale is what a run asked to be full scale (-full-scale) requires of
// the product range the service shows: a demo database (make run, make
// cluster: 10,000 products) would measure cache hits and empty answers.
type FullScale struct {
	MinProducts int `json:"min_products"`
}

// Setup bounds the sampling of products and reviews that write operations use.
type Setup struct {
	SampleProducts    int `json:"sample_products"`
	MaxProbes         int `json:"max_probes"`
	ReviewsPerProduct int `json:"reviews_per_product"`
}

// Scenario is one load shape: a constant arrival rate of requests drawn from
// a weighted mix of operations, and the thresholds that pass or fail it.
type Scenario struct {
	Description     string     `json:"description"`
	Rate            int        `json:"rate"`
	Duration        Duration   `json:"duration"`
	PreAllocatedVUs int        `json:"preAllocatedVUs"`
	MaxVUs          int        `json:"maxVUs"`
	Mix             []Weighted `json:"mix"`
	// Hot, when set, concentrates traffic on a minority of products;
	// without it products are uniform.
	Hot *Hot `json:"hot,omitempty"`
}

// Hot is a popular minority of products: Products (a fraction of all) get
// Traffic (a fraction) of the product choices — reads pick their product
// this way, and setup samples the write operations' products this way too,
// so writes land mostly on products that are read (and cached). The hot set
// is spread over the id range (every stride-th id from 1), not a block of
// low ids, so it is not one contiguous stretch of the tables; the other
// choices are uniform over all products, hot ones included.
type Hot struct {
	Products float64 `json:"products"`
	Traffic  float64 `json:"traffic"`
}

// hotSet is the hot set of products 1..n: size ids 1, 1+stride, 1+2·stride…
// k6/lib.js computes the same (hotSet there): floor(n·products), at least
// one, and stride floor(n/size).
func (h *Hot) hotSet(n int) (size, stride int) {
	size = int(float64(n) * h.Products)
	if size < 1 {
		size = 1
	}
	return size, n / size
}

// Weighted is one operation of a mix and its relative weight.
type Weighted struct {
	Op     string `json:"op"`
	Weight int    `json:"weight"`
}

// Duration reads k6's duration strings ("30s", "1m30s").
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ops are the operations a mix may name, as k6/lib.js implements them.
var ops = map[string]bool{"list": true, "meta": true, "post": true, "helpful": true, "report": true}

// LoadFile reads and validates a scenarios file.
func LoadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFile(b)
}

// ParseFile parses and validates the JSON of a scenarios file.
func ParseFile(b []byte) (*File, error) {
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	return &f, nil
}

func (f *File) validate() error {
	if f.FullScale.MinProducts < 1 {
		return errors.New("full_scale.min_products must be ≥ 1")
	}
	if err := f.SLO.validate(); err != nil {
		return fmt.Errorf("slo: %w", err)
	}
	if f.Setup.SampleProducts < 1 || f.Setup.MaxProbes < f.Setup.SampleProducts || f.Setup.ReviewsPerProduct < 1 {
		return errors.New("setup needs sample_products ≥ 1, max_probes ≥ sample_products, reviews_per_product ≥ 1")
	}
	if len(f.Scenarios) == 0 {
		return errors.New("no scenarios")
	}
	for name, s := range f.Scenarios {
		if s == nil {
			return fmt.Errorf("scenario %q is null", name)
		}
		if err := s.validate(); err != nil {
			return fmt.Errorf("scenario %q: %w", name, err)
		}
	}
	return nil
}

func (s *Scenario) validate() error {
	switch {
	case s.Rate < 1:
		return errors.New("rate must be ≥ 1 request/s")
	case s.Duration < Duration(time.Second):
		return errors.New("duration must be ≥ 1s")
	case s.PreAllocatedVUs < 1 || s.MaxVUs < s.PreAllocatedVUs:
		return errors.New("needs preAllocatedVUs ≥ 1 and maxVUs ≥ preAllocatedVUs")
	case len(s.Mix) == 0:
		return errors.New("empty mix")
	case s.Hot != nil && !(s.Hot.Products > 0 && s.Hot.Products < 1):
		return errors.New("hot.products must be a fraction in (0, 1)")
	case s.Hot != nil && !(s.Hot.Traffic > 0 && s.Hot.Traffic <= 1):
		return errors.New("hot.traffic must be a fraction in (0, 1]")
	}
	for _, m := range s.Mix {
		if !ops[m.Op] {
			return fmt.Errorf("unknown op %q", m.Op)
		}
		if m.Weight < 1 {
			return fmt.Errorf("op %q: weight must be ≥ 1", m.Op)
		}
	}
	return nil
}

// Names lists the scenarios in order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Scenarios))
	for n := range f.Scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Only is a copy of s whose mix keeps the operations named (at their
// weights): a scenario's writes alone, say, at the concurrency of a
// pgbench run (bench/cluster.sh). No names keeps the whole mix.
func (s *Scenario) Only(names []string) (*Scenario, error) {
	if len(names) == 0 {
		return s, nil
	}
	c := *s
	c.Mix = nil
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		found := false
		for _, m := range s.Mix {
			if m.Op == n {
				c.Mix = append(c.Mix, m)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("the scenario's mix has no op %q", n)
		}
	}
	return &c, nil
}

// Uses reports whether the mix holds any of the operations.
func (s *Scenario) Uses(op ...string) bool {
	for _, m := range s.Mix {
		for _, o := range op {
			if m.Op == o {
				return true
			}
		}
	}
	return false
}
