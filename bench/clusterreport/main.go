// Command clusterreport turns the results bench/cluster.sh leaves in a
// directory into the Markdown of BENCHMARKS.md's "Cluster" section and a
// latency-over-rate plot (SVG or PNG, by the file's extension).
//
//	go run ./bench/clusterreport -dir RESULTS -plot bench/results/cluster.svg [-insert BENCHMARKS.md]
//	go run ./bench/clusterreport -judge-pgbench RESULTS/pgbench_mixed-RATE.txt   # exit 0 pass, 3 over
//
// The second form is how bench/cluster.sh decides to stop raising
// pgbench's rate, so the script and the report apply one rule.
//
// The directory holds, each optional (but not all):
//
//	header.md               lines printed first (machine, date, commit, dataset)
//	step-MIX-RATE.json      bench/load -json of one open-loop step of MIX at RATE req/s
//	write-helpful.json      bench/load -json: PUT …/helpful alone, closed loop
//	write-post.json         bench/load -json: POST /reviews alone, closed loop
//	pgbench-helpful.tps     pgbench's transactions/s with bench/pgbench/helpful_bare.sql
//	pgbench-post.tps        the same with bench/pgbench/post_bare.sql
//	noisy.json              bench/load -json of the noisy-neighbour run
//	noisy-quiet.json        the same run without the busy loop
//	baseline-put.json       bench/load -json: PUT …/helpful alone, closed loop, against
//	                        NGINX in front of the fixed-body servers
//	NAME.cpu                the cores busy during the run NAME (cpu.go), beside each
//
// Where both yardsticks of a vote are there (baseline-put and
// pgbench-helpful), the report also prints the most the machine allows a
// vote through the cluster: the two bare tools' costs added on shared
// cores (writeVoteBound).
//
// A step passes when its p99 is under -p99-limit-ms and its share of
// errors at most -max-error-rate (bench/load's thresholds); a mix's capacity is the highest offered
// rate of its passing steps below the first failing one (the script stops a
// mix there). With -insert, the section goes into that file right after
// the marker line (newest results first); the section is printed on stdout
// in any case.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Marker is the line of BENCHMARKS.md after which -insert puts a run.
const Marker = "<!-- bench/cluster.sh inserts its results below this line, newest first -->"

// summary is the part of bench/load's -json output this report reads.
type summary struct {
	Scenario  string               `json:"scenario"`
	Rate      int                  `json:"rate"`
	Conns     int                  `json:"conns"`
	Duration  float64              `json:"duration_s"`
	Requests  int64                `json:"requests"`
	Errors    int64                `json:"errors"`
	ErrorRate float64              `json:"error_rate"`
	Achieved  float64              `json:"achieved_rps"`
	Latency   percentiles          `json:"latency_ms"`
	Outcomes  []string             `json:"outcomes"`
	ByOp      map[string]opSummary `json:"by_op"`
}

type percentiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type opSummary struct {
	Requests int64       `json:"requests"`
	Errors   int64       `json:"errors"`
	Latency  percentiles `json:"latency_ms"`
}

// step is one rate of one mix.
type step struct {
	mix string
	summary
	cpu cpuUse
}

// limits are the capacity criteria.
type limits struct {
	p99Ms   float64
	errRate float64
}

// pass judges a step as bench/load's thresholds do (p99 strictly under the
// limit, as k6's p(99)<limit), so the report agrees with the exit status
// that stopped the mix.
func (l limits) pass(s summary) bool {
	return s.Requests > 0 && s.Latency.P99 < l.p99Ms && s.ErrorRate <= l.errRate
}

// Targets of issue 10, printed beside the figures.
var capacityTarget = map[string]int{"mixed": 5000, "shop": 10000}

// mixNote explains a mix that is not one of the service's.
var mixNote = map[string]string{
	"baseline_shop_reads": "The bare tool's yardstick (part `baseline`): NGINX from the repository's `nginx.conf` in front of " +
		"three `bench/baseline` servers answering every request with one fixed JSON body, no database, under `shop`'s reads " +
		"(list and meta at their weights): what this machine serves through NGINX with nothing of ours in the path.",
}

const (
	helpfulTarget = 0.60
	postTarget    = 0.50
)

var opOrder = []string{"list", "meta", "post", "helpful", "report"}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("clusterreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "results directory written by bench/cluster.sh")
	plotPath := fs.String("plot", "", "write the latency-over-rate plot here (.svg or .png)")
	plotLink := fs.String("plot-link", "", "path of the plot as the Markdown links it (default: -plot)")
	insert := fs.String("insert", "", "insert the section into this file after the marker line")
	p99 := fs.Float64("p99-limit-ms", 100, "a step passes at this p99 or below (ms)")
	maxErr := fs.Float64("max-error-rate", 0.001, "a step passes at this share of errors or below")
	judge := fs.String("judge-pgbench", "", "only judge this pgbench -L output as a pgbench_mixed step: exit 0 when it passes, 3 when over")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *judge != "" {
		return judgePgbench(*judge, stdout, stderr)
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: clusterreport -dir RESULTS [-plot FILE.svg] [-insert BENCHMARKS.md]")
		return 2
	}
	lim := limits{p99Ms: *p99, errRate: *maxErr}
	steps, err := readSteps(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "clusterreport:", err)
		return 1
	}
	if len(steps) == 0 && !anyFile(*dir, "pgbench_mixed-1000.txt", "write-helpful.json", "write-post.json", "pgbench-helpful.tps", "pgbench-post.tps", "noisy.json") {
		fmt.Fprintf(stderr, "clusterreport: no results in %s (no step-MIX-RATE.json, write-*.json, pgbench-*.tps or noisy.json)\n", *dir)
		return 1
	}
	link := *plotLink
	if link == "" {
		link = *plotPath
	}
	if len(steps) == 0 {
		link = "" // the plot is of the rate steps: none, no plot
	} else if *plotPath != "" {
		if err := writePlot(*plotPath, steps, lim); err != nil {
			fmt.Fprintln(stderr, "clusterreport: plot:", err)
			return 1
		}
	}
	var md bytes.Buffer
	if err := writeMarkdown(&md, *dir, steps, lim, link); err != nil {
		fmt.Fprintln(stderr, "clusterreport:", err)
		return 1
	}
	if *insert != "" {
		if err := insertSection(*insert, md.Bytes()); err != nil {
			fmt.Fprintln(stderr, "clusterreport:", err)
			return 1
		}
	}
	stdout.Write(md.Bytes())
	return 0
}

// exitOver is -judge-pgbench's status for a step over the limits.
const exitOver = 3

// judgePgbench is bench/cluster.sh's question while it steps pgbench's rate
// up: did this run pass (pgbenchStep.pass, the rule the report applies)?
func judgePgbench(path string, stdout, stderr io.Writer) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(stderr, "clusterreport:", err)
		return 1
	}
	s, err := parsePgbench(filepath.Base(path), b)
	if err != nil {
		fmt.Fprintln(stderr, "clusterreport:", err)
		return 1
	}
	if !s.pass() {
		fmt.Fprintf(stdout, "over: %s %% late, %s %% skipped, %d failed\n", num(s.latePct), num(s.skippedPct), s.failed)
		return exitOver
	}
	fmt.Fprintf(stdout, "pass: %s %% late, %s %% skipped\n", num(s.latePct), num(s.skippedPct))
	return 0
}

var stepName = regexp.MustCompile(`^step-([a-z0-9_]+)-([0-9]+)\.json$`)

// readSteps reads every step file, by mix and then offered rate.
func readSteps(dir string) ([]step, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var steps []step
	for _, e := range entries {
		m := stepName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		var s summary
		if err := readJSON(filepath.Join(dir, e.Name()), &s); err != nil {
			return nil, err
		}
		cpu, err := readCPU(dir, strings.TrimSuffix(e.Name(), ".json"))
		if err != nil {
			return nil, err
		}
		steps = append(steps, step{mix: m[1], summary: s, cpu: cpu})
	}
	sort.Slice(steps, func(i, j int) bool {
		if steps[i].mix != steps[j].mix {
			return mixRank(steps[i].mix) < mixRank(steps[j].mix)
		}
		return steps[i].Rate < steps[j].Rate
	})
	return steps, nil
}

func anyFile(dir string, names ...string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

// mixRank puts mixed before shop, then any other mix by name.
func mixRank(mix string) string {
	switch mix {
	case "mixed":
		return "0"
	case "shop":
		return "1"
	}
	return "2" + mix
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// optionalJSON reads path into v; false when the file is absent.
func optionalJSON(path string, v any) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return true, readJSON(path, v)
}

// loadRun is one bench/load run other than a rate step: its figures (NAME.json)
// and the cores busy meanwhile (NAME.cpu, nil when not measured).
type loadRun struct {
	summary
	cpu cpuUse
}

// readRun reads the run NAME in dir; false when NAME.json is absent.
func readRun(dir, name string) (loadRun, bool, error) {
	var r loadRun
	ok, err := optionalJSON(filepath.Join(dir, name+".json"), &r.summary)
	if err != nil || !ok {
		return r, false, err
	}
	r.cpu, err = readCPU(dir, name)
	return r, true, err
}

// readTPS reads pgbench's transactions/s of the run NAME (NAME.tps) and the
// cores busy meanwhile (NAME.cpu); false when NAME.tps is absent.
func readTPS(dir, name string) (float64, cpuUse, bool, error) {
	tps, ok, err := optionalNumber(filepath.Join(dir, name+".tps"))
	if err != nil || !ok {
		return 0, nil, false, err
	}
	cpu, err := readCPU(dir, name)
	return tps, cpu, true, err
}

// optionalNumber reads a file holding one number; false when absent.
func optionalNumber(path string) (float64, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", path, err)
	}
	return v, true, nil
}

// mixes lists the mixes of steps in order.
func mixes(steps []step) []string {
	var out []string
	for _, s := range steps {
		if len(out) == 0 || out[len(out)-1] != s.mix {
			out = append(out, s.mix)
		}
	}
	return out
}

// capacity is the highest offered rate passing before the first failing
// step of mix; 0 when the first step fails.
func capacity(steps []step, mix string, lim limits) (rate int, stoppedAt int) {
	for _, s := range steps {
		if s.mix != mix {
			continue
		}
		if !lim.pass(s.summary) {
			return rate, s.Rate
		}
		rate = s.Rate
	}
	return rate, 0
}

func writeMarkdown(w io.Writer, dir string, steps []step, lim limits, plotLink string) error {
	if h, err := os.ReadFile(filepath.Join(dir, "header.md")); err == nil {
		w.Write(bytes.TrimRight(h, "\n"))
		fmt.Fprint(w, "\n\n")
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(steps) > 0 {
		fmt.Fprintf(w, "A step passes at p99 < %s ms and errors ≤ %s %%; latencies in ms from each request's scheduled start (open loop), per operation p50 / p99.\n\n",
			num(lim.p99Ms), num(100*lim.errRate))
	}
	for _, mix := range mixes(steps) {
		fmt.Fprintf(w, "**%s**\n\n", mix)
		if n, ok := mixNote[mix]; ok {
			fmt.Fprintf(w, "%s\n\n", n)
		}
		var ops []string
		for _, op := range opOrder {
			for _, s := range steps {
				if _, ok := s.ByOp[op]; ok && s.mix == mix {
					ops = append(ops, op)
					break
				}
			}
		}
		fmt.Fprint(w, "| offered req/s | achieved req/s | p50 | p99 |")
		for _, op := range ops {
			fmt.Fprintf(w, " %s |", op)
		}
		fmt.Fprintf(w, " errors | verdict | %s |\n|---:|---:|---:|---:|", cpuHeader)
		for range ops {
			fmt.Fprint(w, "---:|")
		}
		fmt.Fprint(w, "---:|---|---:|\n")
		for _, s := range steps {
			if s.mix != mix {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s |", thousands(float64(s.Rate)), thousands(s.Achieved), num(s.Latency.P50), num(s.Latency.P99))
			for _, op := range ops {
				o, ok := s.ByOp[op]
				if !ok || o.Requests == 0 {
					fmt.Fprint(w, " – |")
					continue
				}
				fmt.Fprintf(w, " %s / %s |", num(o.Latency.P50), num(o.Latency.P99))
			}
			verdict := "pass"
			if !lim.pass(s.summary) {
				verdict = "**over**"
			}
			fmt.Fprintf(w, " %s | %s | %s |\n", errorsCell(s.summary), verdict, s.cpu.cell())
		}
		rate, stopped := capacity(steps, mix, lim)
		fmt.Fprintf(w, "\nCapacity of `%s`: %s req/s", mix, thousands(float64(rate)))
		if stopped > 0 {
			fmt.Fprintf(w, " (stopped at %s req/s)", thousands(float64(stopped)))
		} else {
			fmt.Fprint(w, " (every step passed: raise RATES)")
		}
		if t, ok := capacityTarget[mix]; ok {
			fmt.Fprintf(w, "; target ≥ %s: %s", thousands(float64(t)), met(rate >= t))
		}
		fmt.Fprint(w, ".\n\n")
	}
	pg, err := readPgbenchSteps(dir)
	if err != nil {
		return err
	}
	mixed, _ := capacity(steps, "mixed", lim)
	writePgbench(w, pg, mixed, lim)
	if shop, _ := capacity(steps, "shop", lim); shop > 0 {
		if base, _ := capacity(steps, "baseline_shop_reads", lim); base > 0 {
			fmt.Fprintf(w, "`shop` holds %.2f × the capacity of `baseline_shop_reads` (%s / %s req/s).\n\n",
				float64(shop)/float64(base), thousands(float64(shop)), thousands(float64(base)))
		}
	}
	if plotLink != "" {
		fmt.Fprintf(w, "![p50 and p99 over the offered rate](%s)\n\n", plotLink)
	}
	if err := writeWrites(w, dir); err != nil {
		return err
	}
	if err := writeVoteBound(w, dir); err != nil {
		return err
	}
	return writeNoisy(w, dir)
}

func writeWrites(w io.Writer, dir string) error {
	type row struct {
		name, file, tps, bare, waits string
		target                       float64
	}
	rows := []row{
		{"`PUT /reviews/:id/helpful`", "write-helpful", "pgbench-helpful", "`helpful_bare.sql` (the UPDATE alone)", "waits-helpful.txt", helpfulTarget},
		{"`POST /reviews`", "write-post", "pgbench-post", "`post_bare.sql` (createReview without `pg_notify`)", "waits-post.txt", postTarget},
	}
	header := false
	for _, r := range rows {
		s, ok, err := readRun(dir, r.file)
		if err != nil {
			return err
		}
		tps, pgCPU, okTPS, err := readTPS(dir, r.tps)
		if err != nil {
			return err
		}
		if !ok && !okTPS {
			continue
		}
		if !header {
			fmt.Fprintf(w, "**Writes through the cluster against pgbench at the same concurrency (%d connections, closed loop)**\n\n", s.Conns)
			fmt.Fprintf(w, "| write | through NGINX req/s | p50 | p99 | errors | %s | pgbench bare | its tps | its cores busy | ratio | target | commonest waits in PostgreSQL |\n|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|\n", cpuHeader)
			header = true
		}
		ratio := "–"
		verdict := "–"
		if ok && okTPS && tps > 0 {
			q := s.Achieved / tps
			ratio = fmt.Sprintf("%.2f", q)
			verdict = fmt.Sprintf("≥ %.2f: %s", r.target, met(q >= r.target && s.ErrorRate == 0))
		}
		waits := "–"
		if b, err := os.ReadFile(filepath.Join(dir, r.waits)); err == nil && len(bytes.TrimSpace(b)) > 0 {
			waits = string(bytes.TrimSpace(b))
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, thousands(s.Achieved),
			num(s.Latency.P50), num(s.Latency.P99), errorsCell(s.summary), s.cpu.cell(), r.bare, thousands(tps), pgCPU.pgbenchCell(), ratio, verdict, waits)
	}
	if header {
		fmt.Fprintln(w)
	}
	return nil
}

func writeNoisy(w io.Writer, dir string) error {
	loud, ok, err := readRun(dir, "noisy")
	if err != nil || !ok {
		return err
	}
	quiet, okQuiet, err := readRun(dir, "noisy-quiet")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "**Noisy neighbour: `%s` at %s req/s while a busy loop keeps one core busy**\n\n", loud.Scenario, thousands(float64(loud.Rate)))
	fmt.Fprintf(w, "| run | offered req/s | achieved req/s | p50 | p99 | max | errors | %s | the busy loop's cores | target p99 ≤ 100 ms, 0 errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n", cpuHeader)
	row := func(name string, r loadRun, verdict string) {
		busy := "–"
		if r.cpu != nil {
			busy = fmt.Sprintf("%.2f", r.cpu["busy"])
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, thousands(float64(r.Rate)), thousands(r.Achieved),
			num(r.Latency.P50), num(r.Latency.P99), num(r.Latency.Max), errorsCell(r.summary), r.cpu.cell(), busy, verdict)
	}
	if okQuiet {
		row("without the busy loop", quiet, "–")
	}
	row("with the busy loop", loud, met(loud.Requests > 0 && loud.Latency.P99 <= 100 && loud.Errors == 0))
	fmt.Fprintln(w)
	if okQuiet && quiet.cpu != nil && loud.cpu != nil && loud.cpu["cores"] > 0 {
		n := loud.cpu["cores"]
		fmt.Fprintf(w, "Without the neighbour the deployment kept %.2f of the machine's %.0f cores busy at this rate; "+
			"with it, the busy loop took %.2f, which left the deployment %.2f.\n\n",
			quiet.cpu["machine"], n, loud.cpu["busy"], n-loud.cpu["busy"])
	}
	return nil
}

// writeVoteBound prints the most this machine allows PUT …/helpful through
// the cluster, from the two bare tools: NGINX in front of fixed-body
// servers under the same closed loop (baseline-put.json) and pgbench's
// bare UPDATE (pgbench-helpful.tps). A vote through the cluster costs at
// least the one's HTTP path and the other's statement; when each alone
// keeps the machine's cores busy, their costs add on the shared cores, so
// no service reaches more than 1 / (1/http + 1/pgbench) votes/s.
func writeVoteBound(w io.Writer, dir string) error {
	put, ok, err := readRun(dir, "baseline-put")
	if err != nil || !ok {
		return err
	}
	tps, pgCPU, okTPS, err := readTPS(dir, "pgbench-helpful")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "**What this machine allows a vote.** NGINX in front of the three fixed-body servers answers `PUT …/helpful` "+
		"at %s req/s under the same closed loop (%d connections; p50 %s ms, p99 %s ms, %s errors; cores busy %s)",
		thousands(put.Achieved), put.Conns, num(put.Latency.P50), num(put.Latency.P99), errorsCell(put.summary), put.cpu.cell())
	if !okTPS || tps <= 0 || put.Achieved <= 0 {
		fmt.Fprint(w, ".\n\n")
		return nil
	}
	bound := 1 / (1/put.Achieved + 1/tps)
	fmt.Fprintf(w, "; pgbench's bare UPDATE runs %s tps (cores busy %s). A vote through the cluster costs at least both, "+
		"on the same cores: when each of the two keeps the machine busy on its own, no service can exceed "+
		"1 / (1/%s + 1/%s) = %s votes/s, **%.2f × pgbench** (target %.2f).\n\n",
		thousands(tps), pgCPU.pgbenchCell(), thousands(put.Achieved), thousands(tps), thousands(bound), bound/tps, helpfulTarget)
	return nil
}

func errorsCell(s summary) string {
	if s.Errors == 0 {
		return "0"
	}
	var bad []string
	for _, o := range s.Outcomes {
		if !strings.HasPrefix(o, "200=") && !strings.HasPrefix(o, "201=") && !strings.HasPrefix(o, "204=") {
			bad = append(bad, o)
		}
	}
	return fmt.Sprintf("%d (%.3f %%: %s)", s.Errors, 100*s.ErrorRate, strings.Join(bad, ", "))
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// num prints a latency or limit in three significant digits or so: 0.41,
// 4.12, 41.2, 412; whole numbers without decimals.
func num(v float64) string {
	switch {
	case v >= 100 || v == float64(int64(v)):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// thousands prints a rate rounded to an integer with thousands separators.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// insertSection puts md into path right after the marker line.
func insertSection(path string, md []byte) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i := bytes.Index(b, []byte(Marker+"\n"))
	if i < 0 {
		return fmt.Errorf("%s has no line %q to insert after", path, Marker)
	}
	at := i + len(Marker) + 1
	var out bytes.Buffer
	out.Write(b[:at])
	out.WriteByte('\n')
	out.Write(bytes.TrimRight(md, "\n"))
	out.WriteByte('\n')
	out.Write(b[at:])
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
