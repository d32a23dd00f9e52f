package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// nodeCheck syntax-checks src as an ES module, as k6 loads it; node only
// parses, so the k6/* imports need not resolve.
func nodeCheck(t *testing.T, src []byte) (string, error) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to syntax-check the k6 scripts and is not on PATH (apt-get install nodejs): %v", err)
	}
	cmd := exec.CommandContext(t.Context(), node, "--input-type=module", "--check")
	cmd.Stdin = strings.NewReader(string(src))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestK6ScriptsParseSuccess(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(k6Dir, "*.js"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d k6 scripts, want lib.js and one per scenario", len(files))
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := nodeCheck(t, src); err != nil {
			t.Errorf("%s does not parse as an ES module: %v\n%s", file, err, out)
		}
	}
}

// The check must be able to fail: a broken module is rejected.
func TestK6ScriptsParseFailure(t *testing.T) {
	if _, err := nodeCheck(t, []byte("import http from 'k6/http';\nexport default function ( {\n")); err == nil {
		t.Fatal("node --check accepted a broken module")
	}
}

// k6Cmd prepares node to run k6/<name>.js with the stand-ins for k6's modules
// in testdata/k6shim: options, setup() and iterations calls of the default
// function, as one k6 VU would (testdata/k6shim/drive.mjs).
func k6Cmd(t *testing.T, name string, env map[string]string, iterations int) *exec.Cmd {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to run the k6 scripts' logic and is not on PATH: %v", err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed by the k6/http stand-in: %v", err)
	}
	dir := t.TempDir()
	copyFiles(t, k6Dir, dir, "*.js", "scenarios.json")
	copyFiles(t, "testdata/k6shim", dir, "drive.mjs", "loader.mjs")
	copyFiles(t, "testdata/k6shim/k6", filepath.Join(dir, "node_modules", "k6"), "*")
	writeFile(t, filepath.Join(dir, "package.json"), `{"type": "module"}`)
	envJSON, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "drive.mjs", name+".js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "K6_ENV="+string(envJSON), "ITERATIONS="+strconv.Itoa(iterations))
	return cmd
}

// runK6Script runs k6Cmd and decodes what drive.mjs reports.
func runK6Script(t *testing.T, name string, env map[string]string, iterations int) k6Run {
	t.Helper()
	cmd := k6Cmd(t, name, env, iterations)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("k6/%s.js under node: %v\n%s", name, err, stderr.String())
	}
	var r k6Run
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("drive.mjs output: %v\n%s", err, out)
	}
	return r
}

type k6Run struct {
	Options struct {
		Scenarios  map[string]map[string]any `json:"scenarios"`
		Thresholds map[string][]string       `json:"thresholds"`
	} `json:"options"`
	SetupRequests int `json:"setupRequests"`
	Requests      []struct {
		Method, URL, Op string
		Body            *string
		Status          int
	} `json:"requests"`
	Checks  map[string]struct{ Passes, Fails int } `json:"checks"`
	Metrics map[string]map[string]int              `json:"metrics"`
}

func copyFiles(t *testing.T, from, to string, patterns ...string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range patterns {
		files, err := filepath.Glob(filepath.Join(from, p))
		if err != nil || len(files) == 0 {
			t.Fatalf("no %s in %s (%v)", p, from, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(to, filepath.Base(f)), string(b))
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startFakeTCP serves a fakeAPI on a loopback port and returns its base URL.
func startFakeTCP(t *testing.T, a *fakeAPI) string {
	t.Helper()
	a.counts = map[string]int{}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: a.handle}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func TestK6ScriptsRunSuccess(t *testing.T) {
	file, err := LoadFile(filepath.Join(k6Dir, "scenarios.json"))
	if err != nil {
		t.Fatal(err)
	}
	const iterations = 40
	for _, name := range file.Names() {
		t.Run(name, func(t *testing.T) {
			a := &fakeAPI{}
			base := startFakeTCP(t, a)
			r := runK6Script(t, name, map[string]string{"BASE_URL": base + "/", "PRODUCTS": "1000"}, iterations)
			if r.SetupRequests > 0 && !strings.Contains(r.Requests[0].URL, "/reviews/meta?product_id=") {
				t.Fatalf("setup began with %s", r.Requests[0].URL)
			}
			s := file.Scenarios[name]

			sc := r.Options.Scenarios[name]
			if len(r.Options.Scenarios) != 1 || sc["executor"] != "constant-arrival-rate" ||
				sc["rate"] != float64(s.Rate) || sc["timeUnit"] != "1s" || sc["duration"] != "30s" ||
				sc["preAllocatedVUs"] != float64(s.PreAllocatedVUs) || sc["maxVUs"] != float64(s.MaxVUs) {
				t.Fatalf("k6 scenarios %v do not follow scenarios.json %+v", r.Options.Scenarios, s)
			}
			checkK6Thresholds(t, file, name, r.Options.Thresholds)

			if len(a.bad) > 0 {
				t.Fatalf("the fake API rejected requests: %v", a.bad)
			}
			run := r.Requests[r.SetupRequests:]
			if len(run) != iterations {
				t.Fatalf("%d requests for %d iterations", len(run), iterations)
			}
			passes := 0
			for _, c := range r.Checks {
				passes += c.Passes
				if c.Fails > 0 {
					t.Fatalf("checks failed: %v", r.Checks)
				}
			}
			if passes != iterations {
				t.Fatalf("%d checks passed, want one per iteration: %v", passes, r.Checks)
			}
			for _, q := range run {
				if !s.Uses(q.Op) || !strings.HasPrefix(q.URL, base+"/reviews") || strings.Contains(q.URL, "//reviews") {
					t.Fatalf("request %s %s (op %q) is not of scenario %s", q.Method, q.URL, q.Op, name)
				}
				if q.Status != wantStatus[q.Op] {
					t.Fatalf("%s %s answered %d", q.Method, q.URL, q.Status)
				}
			}
			if s.Uses("post", "helpful", "report") {
				if r.SetupRequests == 0 || a.counts["post"] == 0 {
					t.Fatalf("setup made %d requests, %d posts; want products proved by POST", r.SetupRequests, a.counts["post"])
				}
			} else if r.SetupRequests != 0 {
				t.Fatalf("a read scenario's setup made %d requests", r.SetupRequests)
			}
		})
	}
}

func TestK6ScriptsEnvSuccess(t *testing.T) {
	a := &fakeAPI{}
	base := startFakeTCP(t, a)
	r := runK6Script(t, "list", map[string]string{"BASE_URL": base, "PRODUCTS": "3", "RATE": "123", "DURATION": "5s"}, 60)
	sc := r.Options.Scenarios["list"]
	if sc["rate"] != float64(123) || sc["duration"] != "5s" {
		t.Fatalf("RATE and DURATION not applied: %v", sc)
	}
	seen := map[string]bool{}
	for _, q := range r.Requests {
		u, err := url.Parse(q.URL)
		if err != nil {
			t.Fatal(err)
		}
		seen[u.Query().Get("product_id")+" "+u.Query().Get("sort")] = true
	}
	// 3 products × 3 sorts, all drawn in 60 requests; nothing else.
	for k := range seen {
		p, s, _ := strings.Cut(k, " ")
		if (p != "1" && p != "2" && p != "3") || (s != "newest" && s != "helpful" && s != "relevant") {
			t.Fatalf("request for product %q sort %q outside PRODUCTS=3", p, s)
		}
	}
	if len(seen) < 7 {
		t.Fatalf("60 requests covered only %v", seen)
	}
}

func TestK6ScriptsSetupFailure(t *testing.T) {
	a := &fakeAPI{status: 501}
	base := startFakeTCP(t, a)
	out, err := k6Cmd(t, "writes", map[string]string{"BASE_URL": base, "PRODUCTS": "1000"}, 1).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "setup: GET /reviews/meta?product_id=") {
		t.Fatalf("setup against a 501 API: err %v, output\n%s", err, out)
	}
}

// k6/shop.js draws products as bench/load does: about 81 % of reads on the
// hot set that Hot.hotSet computes (80 % hot, plus the hot 5 % of the
// uniform rest). A script with another hot set, or none, lands near 5 %.
func TestK6ShopHotSetSuccess(t *testing.T) {
	file, err := LoadFile(filepath.Join(k6Dir, "scenarios.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAPI{}
	base := startFakeTCP(t, a)
	r := runK6Script(t, "shop", map[string]string{"BASE_URL": base, "PRODUCTS": "1000"}, 300)
	size, stride := file.Scenarios["shop"].Hot.hotSet(1000)
	reads, hot := 0, 0
	for _, q := range r.Requests[r.SetupRequests:] {
		if q.Op != "list" && q.Op != "meta" {
			continue
		}
		u, err := url.Parse(q.URL)
		if err != nil {
			t.Fatal(err)
		}
		id, err := strconv.Atoi(u.Query().Get("product_id"))
		if err != nil || id < 1 || id > 1000 {
			t.Fatalf("read of product %q outside 1..1000", u.Query().Get("product_id"))
		}
		reads++
		if isHot(id, size, stride) {
			hot++
		}
	}
	// About 285 reads; 81 % ± 2.3 points (one standard deviation).
	if reads < 250 {
		t.Fatalf("%d reads in 300 iterations, want about 95 %%", reads)
	}
	if share := float64(hot) / float64(reads); share < 0.70 || share > 0.92 {
		t.Fatalf("%d of %d reads on the hot set (%.2f), want about 0.81", hot, reads, share)
	}
}

// checkK6Thresholds checks the k6 thresholds of scenario name against the
// default SLO profile of scenarios.json: per operation of the mix, p95 and
// p99 by its class; on the scenario, failed requests and checks; and the
// bookkeeping thresholds that always pass.
func checkK6Thresholds(t *testing.T, f *File, name string, got map[string][]string) {
	t.Helper()
	p, _, err := f.SLO.Profile("")
	if err != nil {
		t.Fatal(err)
	}
	sc := "scenario:" + name
	want := map[string][]string{
		"http_req_failed{" + sc + "}":   {"rate<=" + fmtNum(p.MaxErrorRate)},
		"checks{" + sc + "}":            {"rate>=" + fmtNum(p.MinChecksRate)},
		"http_req_duration{" + sc + "}": {"max>=0"},
		"http_reqs{" + sc + "}":         {"count>=0"},
	}
	for _, m := range f.Scenarios[name].Mix {
		cl := p.class(m.Op)
		want["http_req_duration{"+sc+",op:"+m.Op+"}"] = []string{"p(95)<" + fmtNum(cl.P95Ms), "p(99)<" + fmtNum(cl.P99Ms)}
		want["http_reqs{"+sc+",op:"+m.Op+"}"] = []string{"count>=0"}
		want["http_req_failed{"+sc+",op:"+m.Op+"}"] = []string{"rate>=0"}
		if m.Op == "list" || m.Op == "meta" {
			want["empty_answers{"+sc+",op:"+m.Op+"}"] = []string{"count>=0"}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("thresholds %v, want %v", got, want)
	}
	for k, v := range want {
		if strings.Join(got[k], " ") != strings.Join(v, " ") {
			t.Fatalf("threshold %s = %v, want %v", k, got[k], v)
		}
	}
}

func TestK6ThresholdsSeedSuccess(t *testing.T) {
	a := &fakeAPI{}
	base := startFakeTCP(t, a)
	r := runK6Script(t, "mixed", map[string]string{"BASE_URL": base, "PRODUCTS": "1000", "SLO": "seed"}, 1)
	for k, v := range map[string]string{
		"http_req_duration{scenario:mixed,op:list}": "p(99)<1000",
		"http_req_duration{scenario:mixed,op:post}": "p(99)<1000",
		"http_req_failed{scenario:mixed}":           "rate<=0.01",
		"checks{scenario:mixed}":                    "rate>=0.99",
	} {
		if got := r.Options.Thresholds[k]; len(got) != 1 || got[0] != v {
			t.Fatalf("SLO=seed: %s = %v, want [%s]", k, got, v)
		}
	}
}

// Without PRODUCTS the scripts learn the range from the service, draw
// from it, and count empty answers; FULL_SCALE refuses a small one.
func TestK6DiscoverSuccess(t *testing.T) {
	a := &fakeAPI{maxProduct: 5000}
	base := startFakeTCP(t, a)
	r := runK6Script(t, "list", map[string]string{"BASE_URL": base}, 200)
	if r.SetupRequests == 0 || r.SetupRequests > 300 {
		t.Fatalf("setup made %d requests to learn the range", r.SetupRequests)
	}
	hi := 0
	for _, q := range r.Requests[r.SetupRequests:] {
		u, _ := url.Parse(q.URL)
		id, _ := strconv.Atoi(u.Query().Get("product_id"))
		if id < 1 || id > 5000 {
			t.Fatalf("read of product %d outside the service's 1..5000", id)
		}
		hi = max(hi, id)
	}
	if hi < 4000 {
		t.Fatalf("200 reads reached product %d at most; the range was not learnt as 1..5000", hi)
	}
	if got := r.Metrics["product_range"][`{"from":"service"}`]; got != 5000 {
		t.Fatalf("product_range gauge %v, want 5000 from the service", r.Metrics["product_range"])
	}
	if r.Metrics["empty_answers"] != nil {
		t.Fatalf("empty answers %v, want none (the fake lists three reviews for every product)", r.Metrics["empty_answers"])
	}
	r = runK6Script(t, "meta", map[string]string{"BASE_URL": base}, 100)
	// Odd products have neither ratings nor characteristics: about half.
	if n := r.Metrics["empty_answers"][`{"op":"meta"}`]; n < 25 || n > 75 {
		t.Fatalf("empty meta answers %v of 100, want about half", r.Metrics["empty_answers"])
	}
}

func TestK6DiscoverFailure(t *testing.T) {
	a := &fakeAPI{maxProduct: 5000}
	base := startFakeTCP(t, a)
	out, err := k6Cmd(t, "list", map[string]string{"BASE_URL": base, "FULL_SCALE": "1"}, 1).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refusing a full-scale run: the service has products 1..5000") {
		t.Fatalf("FULL_SCALE against 5,000 products: err %v, output\n%s", err, out)
	}
	a = &fakeAPI{maxProduct: -1}
	base = startFakeTCP(t, a)
	out, err = k6Cmd(t, "list", map[string]string{"BASE_URL": base}, 1).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the service has no product with data") {
		t.Fatalf("an empty service: err %v, output\n%s", err, out)
	}
}

// handleSummary turns k6's end-of-test data into bench/load's summary
// fields: testdata/k6-summary-data.json is k6's data shape for a mixed run.
func TestK6HandleSummarySuccess(t *testing.T) {
	data, err := os.ReadFile("testdata/k6-summary-data.json")
	if err != nil {
		t.Fatal(err)
	}
	cmd := k6Cmd(t, "mixed", map[string]string{"SUMMARY": "out/mixed.json", "DURATION": "20s"}, 0)
	cmd.Env = append(cmd.Env, "SUMMARY_DATA="+string(data))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("handleSummary: %v", err)
	}
	var files map[string]string
	if err := json.Unmarshal(out, &files); err != nil {
		t.Fatalf("handleSummary returned %s: %v", out, err)
	}
	if !strings.HasPrefix(files["stdout"], "text summary of ") || len(files) != 2 {
		t.Fatalf("handleSummary returned %v, want stdout and out/mixed.json", files)
	}
	var s Summary
	if err := json.Unmarshal([]byte(files["out/mixed.json"]), &s); err != nil {
		t.Fatal(err)
	}
	if s.Tool != "k6" || s.Scenario != "mixed" || s.Requests != 30000 || s.OK != 29990 || s.Errors != 10 ||
		s.Failed != 9 || s.Products != 1000011 || s.ProductsFrom != "service" || s.Rate != 1500 || s.Duration != 20 ||
		s.Empty != 700 || s.Pass || s.SLO != "slo" || s.Achieved != 1200 {
		t.Fatalf("summary %+v", s)
	}
	if l := s.ByOp["list"]; l.Requests != 14000 || l.Empty != 500 || l.Latency.P95 != 4.5 || l.Latency.P99 != 9.25 || l.Errors != 14 {
		t.Fatalf("list: %+v", l)
	}
	var failed []string
	for _, th := range s.Thresholds {
		if strings.HasSuffix(th.Condition, ">=0") {
			t.Fatalf("bookkeeping threshold %+v in the summary", th)
		}
		if !th.OK {
			failed = append(failed, th.Metric+" "+th.Condition)
		}
	}
	if len(failed) != 1 || failed[0] != "http_req_duration{op:post} p(99)<250" || len(s.Thresholds) != 6 {
		t.Fatalf("thresholds %+v; want six, the post p99 failed", s.Thresholds)
	}

	// Without setup_data (a k6 that does not pass it), the range comes from
	// the product_range gauge setup sets.
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "setup_data")
	noSetup, _ := json.Marshal(raw)
	cmd = k6Cmd(t, "mixed", map[string]string{"SUMMARY": "out/mixed.json"}, 0)
	cmd.Env = append(cmd.Env, "SUMMARY_DATA="+string(noSetup))
	if out, err = cmd.Output(); err != nil {
		t.Fatal(err)
	}
	files = nil
	if err := json.Unmarshal(out, &files); err != nil {
		t.Fatal(err)
	}
	s = Summary{}
	if err := json.Unmarshal([]byte(files["out/mixed.json"]), &s); err != nil || s.Products != 1000011 {
		t.Fatalf("without setup_data: products %d (%v)", s.Products, err)
	}
}
