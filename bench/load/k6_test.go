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
	copyFiles(t, "testdata/k6shim", dir, "drive.mjs")
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
	Checks map[string]struct{ Passes, Fails int } `json:"checks"`
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
			s := file.Scenarios[name]

			sc := r.Options.Scenarios[name]
			if len(r.Options.Scenarios) != 1 || sc["executor"] != "constant-arrival-rate" ||
				sc["rate"] != float64(s.Rate) || sc["timeUnit"] != "1s" || sc["duration"] != "30s" ||
				sc["preAllocatedVUs"] != float64(s.PreAllocatedVUs) || sc["maxVUs"] != float64(s.MaxVUs) {
				t.Fatalf("k6 scenarios %v do not follow scenarios.json %+v", r.Options.Scenarios, s)
			}
			wantTh := map[string]string{
				"http_req_duration{scenario:" + name + "}": "p(99)<10",
				"http_req_failed{scenario:" + name + "}":   "rate<=0",
				"checks{scenario:" + name + "}":            "rate>=1",
			}
			if len(r.Options.Thresholds) != len(wantTh) {
				t.Fatalf("thresholds %v, want %v", r.Options.Thresholds, wantTh)
			}
			for k, v := range wantTh {
				if got := r.Options.Thresholds[k]; len(got) != 1 || got[0] != v {
					t.Fatalf("threshold %s = %v, want [%s]", k, got, v)
				}
			}

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
	out, err := k6Cmd(t, "writes", map[string]string{"BASE_URL": base}, 1).CombinedOutput()
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
