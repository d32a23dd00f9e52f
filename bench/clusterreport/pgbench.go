package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// pgbenchStep is one rate-limited pgbench run of the `mixed` yardstick
// (bench/cluster.sh, part baseline): pgbench_mixed-RATE.txt.
type pgbenchStep struct {
	rate                     int
	processed, failed, late  int64
	skipped                  int64
	skippedPct, latePct, tps float64
	latencyAvg               float64
	cpu                      cpuUse
}

var (
	pgbenchStepName = regexp.MustCompile(`^pgbench_mixed-([0-9]+)\.txt$`)
	pgProcessed     = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
	pgFailed        = regexp.MustCompile(`(?m)^number of failed transactions: ([0-9]+)`)
	pgSkipped       = regexp.MustCompile(`(?m)^number of transactions skipped: ([0-9]+) \(([0-9.]+)%\)`)
	pgLate          = regexp.MustCompile(`(?m)^number of transactions above the [0-9.]+ ms latency limit: ([0-9]+)/[0-9]+ \(([0-9.]+)%\)`)
	pgLatency       = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
	pgTPS           = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)
)

func readPgbenchSteps(dir string) ([]pgbenchStep, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []pgbenchStep
	for _, e := range entries {
		m := pgbenchStepName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		s, err := parsePgbench(e.Name(), b)
		if err != nil {
			return nil, err
		}
		s.rate, _ = strconv.Atoi(m[1])
		if s.cpu, err = readCPU(dir, strings.TrimSuffix(e.Name(), ".txt")); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b pgbenchStep) int { return a.rate - b.rate })
	return out, nil
}

// parsePgbench reads the figures of one pgbench run from its output b
// (name only names it in errors).
func parsePgbench(name string, b []byte) (pgbenchStep, error) {
	var s pgbenchStep
	var perr error
	num := func(re *regexp.Regexp, group int) float64 {
		sm := re.FindSubmatch(b)
		if sm == nil {
			if perr == nil {
				perr = fmt.Errorf("%s: no %q line (pgbench failed?)", name, re.String())
			}
			return 0
		}
		v, err := strconv.ParseFloat(string(sm[group]), 64)
		if err != nil && perr == nil {
			perr = fmt.Errorf("%s: %w", name, err)
		}
		return v
	}
	s.processed = int64(num(pgProcessed, 1))
	s.failed = int64(num(pgFailed, 1))
	s.skipped, s.skippedPct = int64(num(pgSkipped, 1)), num(pgSkipped, 2)
	s.late, s.latePct = int64(num(pgLate, 1)), num(pgLate, 2)
	s.latencyAvg = num(pgLatency, 1)
	s.tps = num(pgTPS, 1)
	return s, perr
}

// pass: at most 1 % of the transactions over the latency limit (pgbench's
// -L, the p99 limit) or skipped for being late already, and none failed.
func (s pgbenchStep) pass() bool { return s.failed == 0 && s.latePct+s.skippedPct <= 1 }

func pgbenchCapacity(steps []pgbenchStep) (rate, stopped int) {
	for _, s := range steps {
		if !s.pass() {
			return rate, s.rate
		}
		rate = s.rate
	}
	return rate, 0
}

func writePgbench(w io.Writer, steps []pgbenchStep, mixed int, lim limits) {
	if len(steps) == 0 {
		return
	}
	fmt.Fprint(w, "**pgbench_mixed**\n\n")
	fmt.Fprintf(w, "The yardstick of `mixed` (part `baseline`): pgbench alone, the bare statements at mixed's weights "+
		"(`list.sql` 700, `meta.sql` 300, `post_bare.sql` 250, `helpful_bare.sql` 250), rate-limited (`-R`), 64 clients, "+
		"`-L %s`: a step passes when at most 1 %% of transactions took over %s ms from their scheduled start or were skipped as late, and none failed.\n\n",
		num(lim.p99Ms), num(lim.p99Ms))
	fmt.Fprint(w, "| offered tps | achieved tps | latency avg ms | over the limit | skipped | failed | verdict | cores busy: all (pgbench) |\n|---:|---:|---:|---:|---:|---:|---|---:|\n")
	for _, s := range steps {
		verdict := "pass"
		if !s.pass() {
			verdict = "**over**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d (%s %%) | %d (%s %%) | %d | %s | %s |\n", thousands(float64(s.rate)), thousands(s.tps),
			num(s.latencyAvg), s.late, num(s.latePct), s.skipped, num(s.skippedPct), s.failed, verdict, s.cpu.pgbenchCell())
	}
	rate, stopped := pgbenchCapacity(steps)
	fmt.Fprintf(w, "\nCapacity of `pgbench_mixed`: %s tps", thousands(float64(rate)))
	if stopped > 0 {
		fmt.Fprintf(w, " (stopped at %s tps)", thousands(float64(stopped)))
	} else {
		fmt.Fprint(w, " (every step passed: raise RATES)")
	}
	fmt.Fprint(w, ".")
	if mixed > 0 && rate > 0 {
		fmt.Fprintf(w, " `mixed` holds %.2f × it (%s / %s req/s).", float64(mixed)/float64(rate), thousands(float64(mixed)), thousands(float64(rate)))
	}
	fmt.Fprint(w, "\n\n")
}
