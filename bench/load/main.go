// Command load runs the scenarios of k6/scenarios.json against the service
// from Go, for machines without k6: the same request mix, rate, duration and
// thresholds as k6/*.js.
//
// Open-loop mode (default) starts requests at a constant arrival rate and
// times each one from its scheduled start, so a slow answer delays no later
// request and the p99 is free of coordinated omission. Closed-loop mode keeps
// -conns requests outstanding as fast as the service answers, like wrk, to
// find the most requests/s.
//
// Only loopback targets are accepted unless -allow-non-loopback is given, and
// every run is bounded by -duration and -max-requests.
//
// Exit status: 0 thresholds passed, 99 a threshold failed (as k6), 2 bad
// usage, 1 any other error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/catwalk/reviews/envflag"
)

const (
	exitThresholds = 99
	maxDuration    = time.Hour
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

// config is what the flags say.
type config struct {
	scenariosPath string
	scenario      string
	baseURL       string
	products      int
	mode          string
	rate          int
	duration      time.Duration
	conns         int
	maxInFlight   int
	maxRequests   int64
	timeout       time.Duration
	p99           time.Duration
	maxErrorRate  float64
	allowRemote   bool
	jsonPath      string
	warm          bool
	htmlPath      string
	slo           string
	fullScale     bool
	progress      time.Duration
	ops           []string
	reviews       [2]int // -reviews LO-HI; zero: sample them
	record        recordConfig
}

func parseArgs(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = envflag.Usage(fs, `usage: go run ./bench/load -scenario NAME [flags]

Runs one scenario of k6/scenarios.json against the service and prints
requests/s, outcomes by status and latency percentiles; exits 99 when a
threshold fails.`)
	c := &config{}
	fs.StringVar(&c.scenariosPath, "scenarios", "k6/scenarios.json", "scenario file shared with the k6 scripts")
	fs.StringVar(&c.scenario, "scenario", "", "scenario to run (list, meta, writes, mixed, …)")
	fs.StringVar(&c.baseURL, "base-url", "http://127.0.0.1:3000", "the service under test")
	fs.IntVar(&c.products, "products", 0, "product ids are drawn from 1..products (0: learn the range from the service)")
	fs.BoolVar(&c.fullScale, "full-scale", false, "refuse to run unless the service has the full-scale dataset (scenarios.json full_scale.min_products)")
	fs.StringVar(&c.slo, "slo", "", "SLO profile of scenarios.json whose thresholds judge the run (default: the file's default, slo; seed: the seed's bar)")
	fs.DurationVar(&c.progress, "progress", 5*time.Second, "print a progress line on stderr this often (0: never)")
	fs.StringVar(&c.mode, "mode", "open", "open: constant arrival rate; closed: -conns connections as fast as possible")
	fs.IntVar(&c.rate, "rate", 0, "open loop: requests per second (0: the scenario's)")
	fs.DurationVar(&c.duration, "duration", 0, "how long to send (0: the scenario's; at most 1h)")
	fs.IntVar(&c.conns, "conns", 64, "closed loop: connections, each with one request outstanding")
	fs.IntVar(&c.maxInFlight, "max-in-flight", 0, "open loop: most outstanding requests and connections (0: the scenario's maxVUs)")
	fs.Int64Var(&c.maxRequests, "max-requests", 10_000_000, "hard cap on requests sent")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.DurationVar(&c.p99, "p99", 0, "replace the SLO's per-operation latency thresholds by one on the p99 of all requests (0: the SLO's)")
	fs.Float64Var(&c.maxErrorRate, "max-error-rate", -1, "threshold on the share of failed requests, and on that of failed checks (-1: the SLO's)")
	fs.BoolVar(&c.warm, "warm", false, "before the run, read every hot product of the scenario once per cache key its mix reads (uncounted; see warm.go)")
	fs.StringVar(&c.jsonPath, "json", "", "also write the run's figures as JSON to this file (overall, per operation, per second; see summary.go)")
	fs.StringVar(&c.htmlPath, "html", "", "also write an HTML report to this file: latency over time per operation, thresholds (bench/loadhtml)")
	fs.Func("ops", "comma-separated operations of the scenario's mix to keep, at their weights (default: the whole mix)", func(v string) error {
		c.ops = nil
		for _, op := range strings.Split(v, ",") {
			if op = strings.TrimSpace(op); op != "" {
				c.ops = append(c.ops, op)
			}
		}
		return nil
	})
	fs.Func("reviews", "LO-HI: vote on and report review ids LO..HI instead of sampling them from the service; only for mixes without post "+
		"(a yardstick with no data behind it, such as bench/cluster.sh's fixed-body PUT run)", func(v string) error {
		lo, hi, ok := strings.Cut(v, "-")
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if !ok || errA != nil || errB != nil || a < 1 || b < a {
			return fmt.Errorf("want LO-HI with 1 ≤ LO ≤ HI, got %q", v)
		}
		c.reviews = [2]int{a, b}
		return nil
	})
	fs.BoolVar(&c.allowRemote, "allow-non-loopback", false, "allow a target that is not on this machine's loopback (command line only, the environment is ignored)")
	c.record.flags(fs)
	if err := envflag.Parse(fs, args); err != nil {
		return nil, err
	}
	// Only the command line may lift the loopback guard, never a variable
	// left in the environment.
	c.allowRemote = c.allowRemote && onCommandLine(args, "allow-non-loopback")
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	switch {
	case c.scenario == "":
		return nil, errors.New("-scenario is required")
	case c.mode != "open" && c.mode != "closed":
		return nil, fmt.Errorf("-mode must be open or closed, not %q", c.mode)
	case c.rate < 0 || c.products < 0 || c.maxInFlight < 0 || c.progress < 0:
		return nil, errors.New("-rate, -products, -max-in-flight and -progress must be ≥ 0")
	case c.conns < 1 || c.maxRequests < 1 || c.timeout <= 0:
		return nil, errors.New("-conns, -max-requests and -timeout must be > 0")
	case c.duration < 0 || c.duration > maxDuration:
		return nil, fmt.Errorf("-duration must be within 0..%s", maxDuration)
	case c.maxErrorRate > 1:
		return nil, errors.New("-max-error-rate must be ≤ 1")
	}
	return c, nil
}

// onCommandLine reports whether flag name was given in args.
func onCommandLine(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false // flags end here
		}
		if !strings.HasPrefix(a, "-") {
			continue // a flag's value
		}
		n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if n == name {
			return true
		}
	}
	return false
}

// run executes the command; dial, when set, replaces TCP (tests).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, dial fasthttp.DialFunc) (code int) {
	c, err := parseArgs(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	u, err := checkTarget(c.baseURL, c.allowRemote)
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	file, err := LoadFile(c.scenariosPath)
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	s, ok := file.Scenarios[c.scenario]
	if !ok {
		fmt.Fprintf(stderr, "load: no scenario %q in %s (have %s)\n", c.scenario, c.scenariosPath, strings.Join(file.Names(), ", "))
		return 2
	}
	if s, err = s.Only(c.ops); err != nil {
		fmt.Fprintf(stderr, "load: -ops: scenario %s: %v\n", c.scenario, err)
		return 2
	}
	profile, sloName, err := file.SLO.Profile(c.slo)
	if err != nil {
		fmt.Fprintln(stderr, "load: -slo:", err)
		return 2
	}
	rate := s.Rate
	if c.rate > 0 {
		rate = c.rate
	}
	d := time.Duration(s.Duration)
	if c.duration > 0 {
		d = c.duration
	}
	inFlight := s.MaxVUs
	if c.maxInFlight > 0 {
		inFlight = c.maxInFlight
	}
	crit := criteria{profile: profile, p99: c.p99, maxErr: profile.MaxErrorRate, minChecks: profile.MinChecksRate}
	if c.maxErrorRate >= 0 {
		crit.maxErr, crit.minChecks = c.maxErrorRate, 1-c.maxErrorRate
	}
	conns := inFlight
	if c.mode == "closed" {
		conns = c.conns
	}

	t := newTarget(u, c.products, conns, c.timeout, dial)
	products, from, code := productRange(t, c, file, stdout, stderr)
	if code != 0 {
		return code
	}
	t.products = products
	t.setHot(s.Hot)
	if t.rec, err = openRecorder(c.record); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	if t.rec != nil {
		defer func() {
			if err := t.rec.Close(); err != nil {
				fmt.Fprintln(stderr, "load: -record:", err)
				if code == 0 || code == exitThresholds {
					code = 1 // the figures are incomplete
				}
			}
		}()
	}
	if c.reviews[0] > 0 {
		if s.Uses("post") {
			fmt.Fprintln(stderr, "load: -reviews: the mix has post, which needs products sampled from the service; keep only votes and reports (-ops helpful,report)")
			return 2
		}
		for id := c.reviews[0]; id <= c.reviews[1] && len(t.sample.reviews) < 1_000_000; id++ {
			t.sample.reviews = append(t.sample.reviews, id)
		}
	} else if err := t.setup(s, file.Setup); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	if c.warm {
		if err := warmHotTimed(ctx, t, s.Mix, min(conns, 64), func(f string, a ...any) { fmt.Fprintf(stdout, f, a...) }); err != nil {
			fmt.Fprintln(stderr, "load:", err)
			return 1
		}
	}
	p := newPicker(s.Mix)
	st := newStats(s.Mix)
	stopProgress := startProgress(stderr, st, c.progress)
	var elapsed time.Duration
	if c.mode == "open" {
		total := int64(float64(rate) * d.Seconds())
		if total > c.maxRequests {
			total = c.maxRequests
		}
		fmt.Fprintf(stdout, "scenario %s: open loop, %d req/s for %s (%d requests, ≤ %d in flight) → %s, products 1..%d\n",
			c.scenario, rate, d, total, inFlight, t.base, products)
		elapsed = runOpen(ctx, t, p, rate, total, inFlight, st)
	} else {
		fmt.Fprintf(stdout, "scenario %s: closed loop, %d connections for %s (≤ %d requests) → %s, products 1..%d\n",
			c.scenario, conns, d, c.maxRequests, t.base, products)
		elapsed = runClosed(ctx, t, p, conns, d, c.maxRequests, st)
	}
	stopProgress()
	th := judge(st, c.mode, crit)
	pass := report(stdout, c.scenario, c.mode, st, elapsed, sloName, th)
	if c.jsonPath != "" || c.htmlPath != "" {
		sum := summarize(c.scenario, c.mode, st, elapsed, crit, sloName, th, pass)
		if c.mode == "open" {
			sum.Rate, sum.MaxInFlight = rate, inFlight
		} else {
			sum.Conns = conns
		}
		sum.Duration = d.Seconds()
		sum.Products, sum.ProductsFrom = products, from
		if c.jsonPath != "" {
			if err := sum.write(c.jsonPath); err != nil {
				fmt.Fprintln(stderr, "load:", err)
				return 1
			}
		}
		if c.htmlPath != "" {
			if err := sum.writeHTML(c.htmlPath); err != nil {
				fmt.Fprintln(stderr, "load: -html:", err)
				return 1
			}
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "load: interrupted")
		return 1
	}
	if !pass {
		return exitThresholds
	}
	return 0
}

// report prints the run's numbers and the thresholds th (judged by judge),
// and reports whether all passed.
func report(w io.Writer, name, mode string, st *Stats, elapsed time.Duration, slo string, th []Threshold) bool {
	n := st.Requests()
	rps := 0.0
	if elapsed > 0 {
		rps = float64(n) / elapsed.Seconds()
	}
	errRate := 0.0
	if n > 0 {
		errRate = float64(st.Errors()) / float64(n)
	}
	fmt.Fprintf(w, "requests %d in %s: %.1f req/s; ok %d, errors %d (%.4f%%), failed (status ≥ 400 or no answer) %d\n",
		n, elapsed.Round(time.Millisecond), rps, st.OK(), st.Errors(), 100*errRate, st.Failed())
	fmt.Fprintf(w, "outcomes: %s\n", strings.Join(st.Outcomes(), " "))
	if reads := st.reads(); reads > 0 {
		fmt.Fprintf(w, "empty answers: %d of %d good reads (%.1f%%)%s\n", st.Empty(), reads,
			100*float64(st.Empty())/float64(reads), emptyHint(st.Empty(), reads))
	}
	h := st.Latency
	from := "from scheduled start"
	if mode == "closed" {
		from = "from send"
	}
	fmt.Fprintf(w, "latency (%s): min %s p50 %s p90 %s p95 %s p99 %s max %s mean %s\n", from,
		ms(h.Min()), ms(h.Percentile(50)), ms(h.Percentile(90)), ms(h.Percentile(95)), ms(h.Percentile(99)), ms(h.Max()), ms(h.Mean()))
	if mode == "open" {
		fmt.Fprintf(w, "service time (from send): p50 %s p99 %s max %s; sent late (>1ms): %d\n",
			ms(st.Service.Percentile(50)), ms(st.Service.Percentile(99)), ms(st.Service.Max()), st.Late.Load())
	}
	if len(st.ops) > 1 {
		for _, op := range st.ops {
			o := st.ByOp[op]
			fmt.Fprintf(w, "  %-8s %d requests, %d errors; p50 %s p90 %s p95 %s p99 %s max %s\n", op,
				o.Latency.Count(), o.Errors(), ms(o.Latency.Percentile(50)), ms(o.Latency.Percentile(90)),
				ms(o.Latency.Percentile(95)), ms(o.Latency.Percentile(99)), ms(o.Latency.Max()))
		}
	}
	if mode != "open" {
		fmt.Fprintln(w, "latency thresholds: not judged in closed-loop mode")
	}
	pass := printThresholds(w, slo, th)
	fmt.Fprintf(w, "result scenario=%s mode=%s requests=%d ok=%d errors=%d rps=%.1f p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s empty=%d pass=%t\n",
		name, mode, n, st.OK(), st.Errors(), rps,
		msNum(h.Percentile(50)), msNum(h.Percentile(90)), msNum(h.Percentile(99)), msNum(h.Max()), st.Empty(), pass)
	return pass
}

// emptyHint warns when most reads found nothing: the range is wider than
// the data, or the database is a demo one.
func emptyHint(empty, reads int64) string {
	if 2*empty > reads {
		return ": most reads found nothing, so they measure little (a demo-sized database? -full-scale refuses one)"
	}
	return ""
}

func ms(d time.Duration) string { return msNum(d) + "ms" }

func msNum(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}
