package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readSummary(t *testing.T, path string) Summary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return s
}

func TestRunJSONSuccess(t *testing.T) {
	a := &fakeAPI{}
	dial := startFake(t, a)
	path := filepath.Join(t.TempDir(), "run.json")
	code, out, errOut := runLoad(t, dial, "-scenario", "mixed", "-rate", "400", "-duration", "250ms", "-p99", "10s", "-json", path)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	s := readSummary(t, path)
	if s.Scenario != "mixed" || s.Mode != "open" || s.Rate != 400 || s.MaxInFlight != 1000 || s.Duration != 0.25 ||
		s.Requests != 100 || s.OK != 100 || s.Errors != 0 || s.ErrorRate != 0 || !s.Pass || s.P99Limit != 10000 {
		t.Fatalf("summary %+v does not match the run:\n%s", s, out)
	}
	if s.Achieved <= 0 || s.Elapsed <= 0 || s.Latency.P99 <= 0 || s.Latency.P50 > s.Latency.P99 || s.Latency.P99 > s.Latency.Max {
		t.Fatalf("summary figures out of order: %+v", s)
	}
	if len(s.ByOp) != 5 {
		t.Fatalf("by_op %v, want the five operations of mixed", s.ByOp)
	}
	var sum int64
	for op, o := range s.ByOp {
		sum += o.Requests
		if o.Errors != 0 || (o.Requests > 0 && o.Latency.P99 <= 0) {
			t.Fatalf("%s: %+v", op, o)
		}
	}
	if sum != 100 {
		t.Fatalf("operations add up to %d requests, want 100", sum)
	}
	// 200 (list, meta), 201 (post), 204 (helpful, report) and nothing else.
	if len(s.Outcomes) == 0 || len(s.Outcomes) > 3 {
		t.Fatalf("outcomes %v", s.Outcomes)
	}
	for _, o := range s.Outcomes {
		if !strings.HasPrefix(o, "200=") && !strings.HasPrefix(o, "201=") && !strings.HasPrefix(o, "204=") {
			t.Fatalf("outcomes %v", s.Outcomes)
		}
	}
}

func TestRunJSONFailure(t *testing.T) {
	a := &fakeAPI{status: 501}
	dial := startFake(t, a)
	path := filepath.Join(t.TempDir(), "run.json")
	code, out, _ := runLoad(t, dial, "-scenario", "list", "-mode", "closed", "-conns", "2", "-duration", "1m", "-max-requests", "20", "-json", path)
	if code != exitThresholds {
		t.Fatalf("exit %d, want %d\n%s", code, exitThresholds, out)
	}
	s := readSummary(t, path)
	if s.Mode != "closed" || s.Conns != 2 || s.Rate != 0 || s.Requests != 20 || s.Errors != 20 || s.ErrorRate != 1 || s.Pass ||
		len(s.Outcomes) != 1 || s.Outcomes[0] != "501=20" || s.ByOp["list"].Errors != 20 {
		t.Fatalf("summary %+v, want 20 failed requests", s)
	}
	// A file that cannot be written is an error, not a silent loss.
	code, _, errOut := runLoad(t, dial, "-scenario", "list", "-rate", "100", "-duration", "100ms",
		"-json", filepath.Join(t.TempDir(), "missing", "run.json"))
	if code != 1 || !strings.Contains(errOut, "-json") {
		t.Fatalf("exit %d, stderr %q; want 1 naming -json", code, errOut)
	}
}

// -ops keeps part of a mix: only those operations are sent, and setup does
// only what they need (no POST to prove products for votes alone).
func TestRunOpsSuccess(t *testing.T) {
	a := &fakeAPI{}
	dial := startFake(t, a)
	path := filepath.Join(t.TempDir(), "run.json")
	code, out, errOut := runLoad(t, dial, "-scenario", "writes", "-ops", "helpful", "-mode", "closed", "-conns", "4",
		"-duration", "1m", "-max-requests", "60", "-json", path)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if a.counts["helpful"] != 60 || a.counts["post"] != 0 || a.counts["report"] != 0 {
		t.Fatalf("server saw %v; want 60 votes and no posts", a.counts)
	}
	if s := readSummary(t, path); len(s.ByOp) != 1 || s.ByOp["helpful"].Requests != 60 {
		t.Fatalf("by_op %v, want helpful alone", s.ByOp)
	}
}

func TestRunOpsFailure(t *testing.T) {
	a := &fakeAPI{}
	dial := startFake(t, a)
	code, _, errOut := runLoad(t, dial, "-scenario", "list", "-ops", "post", "-rate", "100", "-duration", "100ms")
	if code != 2 || !strings.Contains(errOut, `no op "post"`) {
		t.Fatalf("exit %d, stderr %q; want 2 naming the op", code, errOut)
	}
	if a.total() != 0 {
		t.Fatalf("a refused run sent %d requests", a.total())
	}
}

// isHot reports whether id is in the hot set of size products every stride.
func isHot(id, size, stride int) bool {
	return id >= 1 && (id-1)%stride == 0 && (id-1)/stride < size
}

func TestProductIDHotSuccess(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1")
	tg := newTarget(u, 1000, 1, 1, nil)
	hot := &Hot{Products: 0.05, Traffic: 0.8}
	tg.setHot(hot)
	size, stride := hot.hotSet(1000)
	const draws = 20000
	seen := map[int]int{}
	inHot := 0
	for range draws {
		id := tg.productID()
		if id < 1 || id > 1000 {
			t.Fatalf("product %d outside 1..1000", id)
		}
		seen[id]++
		if isHot(id, size, stride) {
			inHot++
		}
	}
	// 80 % from the hot set plus 5 % of the uniform 20 %: 81 %, with a
	// standard deviation of 0.28 points over 20,000 draws.
	if share := float64(inHot) / draws; share < 0.78 || share > 0.84 {
		t.Fatalf("hot share %.3f, want about 0.81", share)
	}
	for k := range size {
		if seen[1+k*stride] == 0 {
			t.Fatalf("hot product %d never drawn", 1+k*stride)
		}
	}
	if len(seen) < 600 {
		t.Fatalf("only %d distinct products in %d draws: the cold 20 %% is not spread over all products", len(seen), draws)
	}

	tg.setHot(nil)
	inHot = 0
	for range draws {
		if isHot(tg.productID(), size, stride) {
			inHot++
		}
	}
	if share := float64(inHot) / draws; share > 0.08 {
		t.Fatalf("uniform draws hit the hot set %.3f of the time, want about 0.05", share)
	}
}

// Without -products the runner learns the range from the service, draws
// from it, counts empty answers and keeps each second apart in -json.
func TestRunDiscoverSuccess(t *testing.T) {
	a := &fakeAPI{maxProduct: 5000}
	dial := startFake(t, a)
	path := filepath.Join(t.TempDir(), "run.json")
	var stdout, stderr strings.Builder
	code := run(t.Context(), []string{"-scenarios", "../../k6/scenarios.json", "-base-url", "http://127.0.0.1:3999",
		"-scenario", "meta", "-rate", "400", "-duration", "1500ms", "-p99", "10s", "-json", path, "-html", path + ".html"}, &stdout, &stderr, dial)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "products: 1..5000 learnt from the service") {
		t.Fatalf("want the learnt range:\n%s", stdout.String())
	}
	if a.counts["beyond"] == 0 || a.counts["beyond"] > 200 {
		t.Fatalf("discovery asked past the range %d times, want a bisection's few", a.counts["beyond"])
	}
	s := readSummary(t, path)
	if s.Products != 5000 || s.ProductsFrom != "service" || s.Requests != 600 {
		t.Fatalf("products %d from %q, %d requests", s.Products, s.ProductsFrom, s.Requests)
	}
	// Odd products' metas are empty: about half of 600.
	if s.Empty < 200 || s.Empty > 400 || s.ByOp["meta"].Empty != s.Empty || !strings.Contains(stdout.String(), "empty answers: ") {
		t.Fatalf("empty %d (meta %d), want about 300\n%s", s.Empty, s.ByOp["meta"].Empty, stdout.String())
	}
	var n int64
	for i, p := range s.Timeline {
		if p.T != i || p.ByOp["meta"].Requests != p.Requests || (p.Requests > 0 && p.Latency.P99 <= 0) {
			t.Fatalf("timeline point %d: %+v", i, p)
		}
		n += p.Requests
	}
	if len(s.Timeline) != 2 || n != 600 {
		t.Fatalf("timeline of %d seconds holding %d requests, want 2 and 600", len(s.Timeline), n)
	}
	page, err := os.ReadFile(path + ".html")
	if err != nil || !strings.Contains(string(page), `<figure id="latency-over-time"><svg`) || !strings.Contains(string(page), "meta p99") {
		t.Fatalf("-html: %v; the page lacks the latency-over-time plot", err)
	}
}

func TestRunDiscoverFailure(t *testing.T) {
	for _, c := range []struct {
		max  int
		args []string
		want string
	}{
		{5000, []string{"-full-scale"}, "refusing a full-scale run: the service has products 1..5000, fewer than the 1000000"},
		{5000, []string{"-full-scale", "-products", "1000011"}, "refusing a full-scale run"},
		{-1, nil, "the service has no product with data"},
	} {
		a := &fakeAPI{maxProduct: c.max}
		dial := startFake(t, a)
		var stdout, stderr strings.Builder
		args := append([]string{"-scenarios", "../../k6/scenarios.json", "-base-url", "http://127.0.0.1:3999",
			"-scenario", "list", "-rate", "100", "-duration", "1s"}, c.args...)
		code := run(t.Context(), args, &stdout, &stderr, dial)
		if code != 1 || !strings.Contains(stderr.String(), c.want) {
			t.Fatalf("%v against %d products: exit %d, stderr %q; want 1 and %q", c.args, c.max, code, stderr.String(), c.want)
		}
		if a.counts["list"] != 0 {
			t.Fatalf("a refused run sent %d lists", a.counts["list"])
		}
	}
}

// -slo picks the profile of scenarios.json whose thresholds judge the run:
// seed judges list by its p99 only (< 1 s) and allows 1 % failed; an
// unknown profile is a usage error.
func TestRunSLOSuccess(t *testing.T) {
	a := &fakeAPI{}
	dial := startFake(t, a)
	path := filepath.Join(t.TempDir(), "run.json")
	code, out, errOut := runLoad(t, dial, "-scenario", "list", "-rate", "200", "-duration", "250ms", "-slo", "seed", "-json", path)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	s := readSummary(t, path)
	want := []string{"http_req_duration{op:list} p(99)<1000", "http_req_failed rate<=0.01", "checks rate>=0.99"}
	if s.SLO != "seed" || len(s.Thresholds) != len(want) {
		t.Fatalf("slo %q thresholds %+v, want %v", s.SLO, s.Thresholds, want)
	}
	for i, th := range s.Thresholds {
		if th.Metric+" "+th.Condition != want[i] || !th.OK {
			t.Fatalf("threshold %d: %+v, want %s passed", i, th, want[i])
		}
		if !strings.Contains(out, "PASS "+want[i]) {
			t.Fatalf("output lacks PASS %s:\n%s", want[i], out)
		}
	}
	code, out, _ = runLoad(t, dial, "-scenario", "list", "-rate", "200", "-duration", "250ms", "-slo", "nope")
	if code != 2 {
		t.Fatalf("-slo nope: exit %d\n%s", code, out)
	}
}
