package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// step is a bench/load -json document of one open-loop step.
func stepDoc(scenario string, rate int, achieved, p50, p99 float64, requests, errors int64, outcomes ...string) map[string]any {
	byOp := map[string]any{
		"list":    map[string]any{"requests": requests / 2, "errors": 0, "latency_ms": map[string]float64{"p50": p50, "p99": p99}},
		"helpful": map[string]any{"requests": requests - requests/2, "errors": errors, "latency_ms": map[string]float64{"p50": 2 * p50, "p99": 2 * p99}},
	}
	errRate := 0.0
	if requests > 0 {
		errRate = float64(errors) / float64(requests)
	}
	return map[string]any{
		"scenario": scenario, "mode": "open", "rate": rate, "duration_s": 30, "requests": requests, "ok": requests - errors,
		"errors": errors, "error_rate": errRate, "achieved_rps": achieved,
		"latency_ms": map[string]float64{"p50": p50, "p90": p99 / 2, "p99": p99, "max": 3 * p99},
		"outcomes":   outcomes, "by_op": byOp,
	}
}

func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	w := func(name string, v any) { writeJSON(t, filepath.Join(dir, name), v) }
	w("step-mixed-1000.json", stepDoc("mixed", 1000, 999.6, 1.2, 8.5, 30000, 0, "200=20000", "204=10000"))
	w("step-mixed-2000.json", stepDoc("mixed", 2000, 1998, 1.4, 40, 60000, 0, "200=40000", "204=20000"))
	w("step-mixed-5000.json", stepDoc("mixed", 5000, 3100, 300, 2500, 100000, 500, "200=66000", "204=33500", "timeout=500"))
	w("step-shop-1000.json", stepDoc("shop", 1000, 1000, 0.5, 3, 30000, 0, "200=30000"))
	w("step-shop-2000.json", stepDoc("shop", 2000, 2000, 0.6, 4, 60000, 0, "200=60000"))
	w("step-shop-5000.json", stepDoc("shop", 5000, 5000, 0.7, 90, 150000, 100, "200=149900", "503=100"))
	w("step-baseline_shop_reads-1000.json", stepDoc("shop", 1000, 1000, 0.3, 1, 30000, 0, "200=30000"))
	w("step-baseline_shop_reads-5000.json", stepDoc("shop", 5000, 5000, 0.4, 2, 150000, 0, "200=150000"))
	w("step-baseline_shop_reads-10000.json", stepDoc("shop", 10000, 8000, 900, 3000, 240000, 0, "200=240000"))
	w("write-helpful.json", map[string]any{"scenario": "writes", "mode": "closed", "conns": 32, "requests": 30000, "errors": 0,
		"achieved_rps": 3000.0, "latency_ms": map[string]float64{"p50": 9, "p99": 30}})
	w("write-post.json", map[string]any{"scenario": "writes", "mode": "closed", "conns": 32, "requests": 10000, "errors": 0,
		"achieved_rps": 1000.0, "latency_ms": map[string]float64{"p50": 20, "p99": 80}})
	w("noisy.json", stepDoc("mixed", 1500, 1499, 2, 461, 45000, 0, "200=30000", "201=7500", "204=7500"))
	w("noisy-quiet.json", stepDoc("mixed", 1500, 1500, 1.1, 12, 45000, 0, "200=30000", "201=7500", "204=7500"))
	w("baseline-put.json", map[string]any{"scenario": "writes", "mode": "closed", "conns": 32, "requests": 240000, "errors": 0,
		"achieved_rps": 12000.0, "latency_ms": map[string]float64{"p50": 2.5, "p99": 9}})
	pgOut := func(processed, skipped int, skippedPct float64, late int, latePct, tps float64) string {
		return fmt.Sprintf("pgbench (15.18)\ntransaction type: multiple scripts\nnumber of transactions actually processed: %d\n"+
			"number of failed transactions: 0 (0.000%%)\nnumber of transactions skipped: %d (%.3f%%)\n"+
			"number of transactions above the 100.0 ms latency limit: %d/%d (%.3f%%)\nlatency average = 14.274 ms\n"+
			"latency stddev = 33.672 ms\ninitial connection time = 337.715 ms\ntps = %f (without initial connection time)\n",
			processed, skipped, skippedPct, late, processed, latePct, tps)
	}
	for name, v := range map[string]string{
		"pgbench_mixed-1000.txt": pgOut(30000, 0, 0, 30, 0.1, 999.8),
		"pgbench_mixed-2000.txt": pgOut(52000, 20, 0.038, 2970, 5.711, 1733.3),
		"pgbench-helpful.tps":    "7600.5\n", "pgbench-post.tps": "1800\n",
		"waits-helpful.txt": "LWLock:WALWrite 38%; CPU 20%\n",
		"header.md":         "Machine: test box, 2026-11-29 15:00 UTC.\n",
		// The cores busy during runs (bench/cluster.sh's cpu_use).
		"step-mixed-1000.cpu":               "cores 2\nmachine 0.71\npostgres 0.30\ncatwalk 0.20\nnginx 0.10\nload 0.05\nother 0.02\n",
		"step-baseline_shop_reads-1000.cpu": "cores 2\nmachine 0.21\nbaseline 0.05\nnginx 0.08\nload 0.04\n",
		"pgbench_mixed-1000.cpu":            "cores 2\nmachine 0.55\npgbench 0.05\n",
		"write-helpful.cpu":                 "cores 2\nmachine 1.96\npostgres 1.01\ncatwalk 0.50\nnginx 0.20\nload 0.15\n",
		"pgbench-helpful.cpu":               "cores 2\nmachine 1.98\npgbench 0.15\n",
		"baseline-put.cpu":                  "cores 2\nmachine 1.97\nbaseline 0.60\nnginx 0.80\nload 0.50\n",
		"noisy-quiet.cpu":                   "cores 2\nmachine 1.20\npostgres 0.60\ncatwalk 0.30\nnginx 0.15\nload 0.10\n",
		"noisy.cpu":                         "cores 2\nmachine 2.00\npostgres 0.55\ncatwalk 0.25\nnginx 0.12\nload 0.08\nbusy 0.95\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReportSuccess(t *testing.T) {
	dir := fixture(t)
	svg := filepath.Join(t.TempDir(), "cluster.svg")
	var out, errOut bytes.Buffer
	if code := run([]string{"-dir", dir, "-plot", svg, "-plot-link", "bench/results/cluster.svg"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	md := out.String()
	for _, want := range []string{
		"Machine: test box, 2026-11-29 15:00 UTC.\n\n",
		"**mixed**",
		"| offered req/s | achieved req/s | p50 | p99 | list | helpful | errors | verdict | cores busy: all (PostgreSQL / instances / NGINX / load) |",
		"| 1,000 | 1,000 | 1.20 | 8.50 | 1.20 / 8.50 | 2.40 / 17 | 0 | pass | 0.71 (0.30 / 0.20 / 0.10 / 0.05) |",
		"| 5,000 | 3,100 | 300 | 2500 | 300 / 2500 | 600 / 5000 | 500 (0.500 %: timeout=500) | **over** | – |",
		// The fixed-body servers are the baseline's instances.
		"| 1,000 | 1,000 | 0.30 | 1 | 0.30 / 1 | 0.60 / 2 | 0 | pass | 0.21 (0.00 / 0.05 / 0.08 / 0.04) |",
		// 2,000 passed (p99 40 ms), 5,000 did not: capacity 2,000, target 5,000 missed.
		"Capacity of `mixed`: 2,000 req/s (stopped at 5,000 req/s); target ≥ 5,000: **missed**.",
		// shop at 5,000: p99 90 ms passes, but 100 errors in 150,000 (0.067 %) is within 0.1 %.
		"Capacity of `shop`: 5,000 req/s (every step passed: raise RATES); target ≥ 10,000: **missed**.",
		"**baseline_shop_reads**\n\nThe bare tool's yardstick",
		"Capacity of `baseline_shop_reads`: 5,000 req/s (stopped at 10,000 req/s).",
		"`shop` holds 1.00 × the capacity of `baseline_shop_reads` (5,000 / 5,000 req/s).",
		"**pgbench_mixed**",
		"| 1,000 | 1,000 | 14.3 | 30 (0.10 %) | 0 (0 %) | 0 | pass | 0.55 (pgbench 0.05) |",
		"| 2,000 | 1,733 | 14.3 | 2970 (5.71 %) | 20 (0.04 %) | 0 | **over** |",
		"Capacity of `pgbench_mixed`: 1,000 tps (stopped at 2,000 tps). `mixed` holds 2.00 × it (2,000 / 1,000 req/s).",
		"![p50 and p99 over the offered rate](bench/results/cluster.svg)",
		"| `PUT /reviews/:id/helpful` | 3,000 | 9 | 30 | 0 | 1.96 (1.01 / 0.50 / 0.20 / 0.15) | `helpful_bare.sql` (the UPDATE alone) | 7,601 | 1.98 (pgbench 0.15) | 0.39 | ≥ 0.60: **missed** | LWLock:WALWrite 38%; CPU 20% |",
		"| `POST /reviews` | 1,000 | 20 | 80 | 0 | – | `post_bare.sql` (createReview without `pg_notify`) | 1,800 | – | 0.56 | ≥ 0.50: met | – |",
		// 1 / (1/12,000 + 1/7,600.5) = 4,653: 0.61 × pgbench.
		"answers `PUT …/helpful` at 12,000 req/s under the same closed loop (32 connections; p50 2.50 ms, p99 9 ms, 0 errors; cores busy 1.97 (0.00 / 0.60 / 0.80 / 0.50))",
		"1 / (1/12,000 + 1/7,601) = 4,653 votes/s, **0.61 × pgbench** (target 0.60).",
		"(32 connections, closed loop)",
		"**Noisy neighbour: `mixed` at 1,500 req/s while a busy loop keeps one core busy**",
		"| without the busy loop | 1,500 | 1,500 | 1.10 | 12 | 36 | 0 | 1.20 (0.60 / 0.30 / 0.15 / 0.10) | 0.00 | – |",
		"| with the busy loop | 1,500 | 1,499 | 2 | 461 | 1383 | 0 | 2.00 (0.55 / 0.25 / 0.12 / 0.08) | 0.95 | **missed** |",
		"Without the neighbour the deployment kept 1.20 of the machine's 2 cores busy at this rate; with it, the busy loop took 0.95, which left the deployment 1.05.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Index(md, "**mixed**") > strings.Index(md, "**shop**") {
		t.Error("mixed must come before shop")
	}
	if t.Failed() {
		t.Fatalf("report:\n%s", md)
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "mixed p99", "shop p50", "p99 limit 100 ms", "5,000"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	png := filepath.Join(t.TempDir(), "cluster.png")
	if code := run([]string{"-dir", dir, "-plot", png}, &bytes.Buffer{}, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("cluster.png is not a PNG (%v)", err)
	}
}

// The write and noisy runs alone (PARTS=noisy) report without steps, and
// without a plot.
func TestReportNoStepsSuccess(t *testing.T) {
	dir := fixture(t)
	steps, _ := filepath.Glob(filepath.Join(dir, "step-*.json"))
	pg, _ := filepath.Glob(filepath.Join(dir, "pgbench_mixed-*.txt"))
	for _, f := range append(steps, pg...) {
		os.Remove(f)
	}
	svg := filepath.Join(t.TempDir(), "cluster.svg")
	var out, errOut bytes.Buffer
	if code := run([]string{"-dir", dir, "-plot", svg}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	md := out.String()
	if !strings.Contains(md, "**Noisy neighbour") || !strings.Contains(md, "`POST /reviews`") || strings.Contains(md, "Capacity") || strings.Contains(md, "![") {
		t.Fatalf("report:\n%s", md)
	}
	if _, err := os.Stat(svg); err == nil {
		t.Fatal("a plot without steps")
	}
}

func TestInsertSuccess(t *testing.T) {
	dir := fixture(t)
	bench := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	orig := "# Benchmarks\n\n## Cluster\n\nHow it is made.\n\n" + Marker + "\n\n## Read API\n"
	if err := os.WriteFile(bench, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, header := range []string{"first run\n", "second run\n"} {
		if err := os.WriteFile(filepath.Join(dir, "header.md"), []byte(header), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		if code := run([]string{"-dir", dir, "-insert", bench}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	}
	b, _ := os.ReadFile(bench)
	s := string(b)
	first, second, read := strings.Index(s, "first run"), strings.Index(s, "second run"), strings.Index(s, "## Read API")
	if !strings.HasPrefix(s, "# Benchmarks\n\n## Cluster\n\nHow it is made.\n\n"+Marker+"\n\nsecond run\n") ||
		first < second || read < first || strings.Count(s, Marker) != 1 {
		t.Fatalf("want the newest run right after the marker, both before the next section:\n%s", s)
	}
}

func TestReportFailure(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-dir", t.TempDir()}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no results in") {
		t.Fatalf("empty directory: exit %d, %q", code, errOut.String())
	}
	if code := run(nil, &out, &errOut); code != 2 {
		t.Fatalf("no -dir: exit %d", code)
	}
	dir := fixture(t)
	if err := os.WriteFile(filepath.Join(dir, "step-shop-9000.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run([]string{"-dir", dir}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "step-shop-9000.json") {
		t.Fatalf("broken step: exit %d, %q", code, errOut.String())
	}
	bench := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	os.WriteFile(bench, []byte("# Benchmarks\n"), 0o644)
	errOut.Reset()
	os.Remove(filepath.Join(dir, "step-shop-9000.json"))
	if code := run([]string{"-dir", dir, "-insert", bench}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no line") {
		t.Fatalf("no marker: exit %d, %q", code, errOut.String())
	}
	if b, _ := os.ReadFile(bench); string(b) != "# Benchmarks\n" {
		t.Fatalf("a failed insert changed the file: %q", b)
	}
}

// -judge-pgbench is the rule bench/cluster.sh stops pgbench's steps by: the
// report's own (pgbenchStep.pass).
func TestJudgePgbench(t *testing.T) {
	dir := fixture(t)
	f := func(file string, want int, says string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run([]string{"-judge-pgbench", filepath.Join(dir, file)}, &out, &errOut); code != want || !strings.Contains(out.String()+errOut.String(), says) {
			t.Fatalf("%s: exit %d, %q %q; want %d and %q", file, code, out.String(), errOut.String(), want, says)
		}
	}
	f("pgbench_mixed-1000.txt", 0, "pass: 0.10 % late, 0 % skipped")
	f("pgbench_mixed-2000.txt", exitOver, "over: 5.71 % late, 0.04 % skipped, 0 failed")
	f("pgbench-helpful.tps", 1, "no ") // not pgbench's -L output
	f("nope.txt", 1, "no such file")
}
