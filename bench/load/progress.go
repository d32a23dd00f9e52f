package main

import (
	"fmt"
	"io"
	"time"
)

// reads is the good answers of the read operations (list, meta).
func (s *Stats) reads() int64 {
	var n int64
	for _, op := range []string{"list", "meta"} {
		if o := s.ByOp[op]; o != nil {
			n += o.ok.Load()
		}
	}
	return n
}

// startProgress prints a line on w every interval while the run goes: the
// rate achieved since the last line, errors, empty answers and the p99 so
// far (from the run's histogram, read while it fills: close enough for a
// glance). The returned function stops it; interval 0 prints nothing.
func startProgress(w io.Writer, st *Stats, interval time.Duration) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		start := time.Now()
		last, lastAt := int64(0), start
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				n := st.Requests()
				rate := float64(n-last) / now.Sub(lastAt).Seconds()
				last, lastAt = n, now
				fmt.Fprintf(w, "progress %s: %d answered, %.0f req/s, %d errors, %d empty, p99 so far %s\n",
					now.Sub(start).Round(time.Second), n, rate, st.Errors(), st.Empty(), ms(st.Latency.Percentile(99)))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// productRange decides the products 1..N a run draws from: -products when
// given, else the range learnt from the service (discover.go). With
// -full-scale it always asks the service, and refuses (status 1) a range
// under full_scale.min_products; any run refuses a service without data.
// It returns N, where it came from ("flag" or "service") and a non-zero
// exit status when the run must not go on.
func productRange(t *target, c *config, f *File, stdout, stderr io.Writer) (int, string, int) {
	if c.products > 0 && !c.fullScale {
		return c.products, "flag", 0
	}
	found, requests, err := t.discoverProducts()
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 0, "", 1
	}
	if found == 0 {
		fmt.Fprintln(stderr, "load: refusing to run: the service has no product with data (GET /reviews/meta?product_id=1 … 8 are all empty); load a dataset first (README, \"Load testing\")")
		return 0, "", 1
	}
	fmt.Fprintf(stdout, "products: 1..%d learnt from the service (%d requests to GET /reviews/meta)\n", found, requests)
	if c.fullScale && found < f.FullScale.MinProducts {
		fmt.Fprintf(stderr, "load: refusing a full-scale run: the service has products 1..%d, fewer than the %d of the full-scale dataset (a demo database?); load it with catwalk gen and catwalk etl (README, \"Load testing\")\n",
			found, f.FullScale.MinProducts)
		return 0, "", 1
	}
	if c.products > 0 {
		if c.products > found {
			fmt.Fprintf(stderr, "load: warning: -products %d is past the service's last product with data, %d: expect empty answers\n", c.products, found)
		}
		return c.products, "flag", 0
	}
	return found, "service", 0
}
