package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// fakeAPI answers the routes of API.md with canned data: even products have
// two characteristics (ids 2p and 2p+1) and three reviews; odd ones have
// none (an empty meta). It checks POST bodies against the contract's rules and counts the
// requests of each route, setup's included.
type fakeAPI struct {
	status int // when non-zero, every answer has this status
	// maxProduct, when positive, is the last product with data (its
	// meta and list are empty past it); -1: no product has data.
	maxProduct int
	// onPath, when set, sees every request's path.
	onPath func(path string)

	mu     sync.Mutex
	counts map[string]int
	bad    []string
}

func (a *fakeAPI) count(route string) {
	a.mu.Lock()
	a.counts[route]++
	a.mu.Unlock()
}

func (a *fakeAPI) reject(why string, ctx *fasthttp.RequestCtx) {
	a.mu.Lock()
	a.bad = append(a.bad, why)
	a.mu.Unlock()
	ctx.SetStatusCode(422)
}

func (a *fakeAPI) handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	method := string(ctx.Method())
	if a.onPath != nil {
		a.onPath(path)
	}
	if a.status != 0 {
		a.count(method + " any")
		ctx.SetStatusCode(a.status)
		return
	}
	product, _ := strconv.Atoi(string(ctx.QueryArgs().Peek("product_id")))
	if a.maxProduct != 0 && product > a.maxProduct && method == "GET" {
		a.count("beyond")
		if path == "/reviews/meta" {
			fmt.Fprintf(ctx, `{"product_id":"%d","ratings":{},"recommended":{},"characteristics":{}}`, product)
		} else {
			fmt.Fprintf(ctx, `{"product":"%d","page":0,"count":5,"results":[]}`, product)
		}
		return
	}
	switch {
	case method == "GET" && path == "/reviews/meta":
		a.count("meta")
		chars, ratings := "{}", "{}"
		if product%2 == 0 {
			chars = fmt.Sprintf(`{"Fit":{"id":%d,"value":null},"Size":{"id":%d,"value":"2.0000000000000000"}}`, 2*product, 2*product+1)
			ratings = `{"5":"3"}`
		}
		fmt.Fprintf(ctx, `{"product_id":"%d","ratings":%s,"recommended":{},"characteristics":%s}`, product, ratings, chars)
	case method == "GET" && path == "/reviews":
		a.count("list")
		sort := string(ctx.QueryArgs().Peek("sort"))
		if sort != "newest" && sort != "helpful" && sort != "relevant" {
			a.reject("bad sort "+sort, ctx)
			return
		}
		fmt.Fprintf(ctx, `{"product":"%d","page":0,"count":5,"results":[{"review_id":%d},{"review_id":%d},{"review_id":%d}]}`,
			product, 10*product, 10*product+1, 10*product+2)
	case method == "POST" && path == "/reviews":
		a.count("post")
		a.checkPost(ctx)
	case method == "PUT" && strings.HasSuffix(path, "/helpful"):
		a.count("helpful")
		ctx.SetStatusCode(204)
	case method == "PUT" && strings.HasSuffix(path, "/report"):
		a.count("report")
		ctx.SetStatusCode(204)
	default:
		a.count("other")
		ctx.SetStatusCode(404)
	}
}

func (a *fakeAPI) checkPost(ctx *fasthttp.RequestCtx) {
	if !bytes.HasPrefix(ctx.Request.Header.ContentType(), []byte("application/json")) {
		a.reject("content type", ctx)
		return
	}
	var r struct {
		ProductID       int            `json:"product_id"`
		Rating          int            `json:"rating"`
		Body            string         `json:"body"`
		Recommend       *bool          `json:"recommend"`
		Name            string         `json:"name"`
		Email           string         `json:"email"`
		Characteristics map[string]int `json:"characteristics"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &r); err != nil {
		a.reject(err.Error(), ctx)
		return
	}
	p := r.ProductID
	want := map[string]bool{strconv.Itoa(2 * p): true, strconv.Itoa(2*p + 1): true}
	switch {
	case p%2 != 0 || p < 1:
		a.reject("product without characteristics", ctx)
	case r.Rating < 1 || r.Rating > 5 || len(r.Body) < 50 || len(r.Body) > 1000 || r.Recommend == nil ||
		r.Name == "" || !strings.Contains(r.Email, "@"):
		a.reject("bad field in "+string(ctx.PostBody()), ctx)
	case len(r.Characteristics) != len(want):
		a.reject("characteristics not all rated", ctx)
	default:
		for id, v := range r.Characteristics {
			if !want[id] || v < 1 || v > 5 {
				a.reject("bad characteristic "+id, ctx)
				return
			}
		}
		ctx.SetStatusCode(201)
		fmt.Fprintf(ctx, `{"review_id":%d}`, 1000+p)
	}
}

// startFake serves a fakeAPI on an in-memory listener and returns the dial
// function that reaches it.
func startFake(t *testing.T, a *fakeAPI) fasthttp.DialFunc {
	t.Helper()
	a.counts = map[string]int{}
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: a.handle}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return func(string) (net.Conn, error) { return ln.Dial() }
}

func runLoad(t *testing.T, dial fasthttp.DialFunc, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	base := []string{"-scenarios", "../../k6/scenarios.json", "-base-url", "http://127.0.0.1:3999", "-products", "1000"}
	code := run(t.Context(), append(base, args...), &stdout, &stderr, dial)
	return code, stdout.String(), stderr.String()
}

func (a *fakeAPI) total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.counts {
		n += c
	}
	return n
}

func TestRunOpenLoopSuccess(t *testing.T) {
	a := &fakeAPI{}
	dial := startFake(t, a)
	// 400 req/s for 250ms: exactly 100 requests; list needs no setup, so the
	// server sees exactly those.
	code, out, errOut := runLoad(t, dial, "-scenario", "list", "-rate", "400", "-duration", "250ms", "-p99", "10s")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "result scenario=list mode=open requests=100 ok=100 errors=0 ") {
		t.Fatalf("want 100 good requests in the result line:\n%s", out)
	}
	if got := a.total(); got != 100 || a.counts["list"] != 100 || len(a.bad) > 0 {
		t.Fatalf("server saw %d requests %v, rejected %v; want 100 lists", got, a.counts, a.bad)
	}
}

func TestRunMixedSuccess(t *testing.T) {
	a := &fakeAPI{}
	dial := startFake(t, a)
	code, out, errOut := runLoad(t, dial, "-scenario", "mixed", "-rate", "400", "-duration", "250ms", "-p99", "10s")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s\nrejected: %v", code, out, errOut, a.bad)
	}
	if len(a.bad) > 0 {
		t.Fatalf("the fake API rejected requests: %v", a.bad)
	}
	if !strings.Contains(out, "result scenario=mixed mode=open requests=100 ok=100 errors=0 ") {
		t.Fatalf("want 100 good requests in the result line:\n%s", out)
	}
	// One line per operation, their requests adding up to the run's.
	perOp := regexp.MustCompile(`(?m)^  (list|meta|post|helpful|report) +(\d+) requests, 0 errors; p50 `).FindAllStringSubmatch(out, -1)
	sum := 0
	for _, m := range perOp {
		n, _ := strconv.Atoi(m[2])
		sum += n
	}
	if len(perOp) != 5 || sum != 100 {
		t.Fatalf("want five per-operation lines adding up to 100:\n%s", out)
	}
	// Setup sampled 50 products (scenarios.json), proving each with a POST
	// and listing its reviews; the run then mixed reads and writes.
	if a.counts["post"] < 50 || a.counts["list"] < 50 || a.counts["meta"] < 50 || a.counts["helpful"] == 0 {
		t.Fatalf("server saw %v; want setup's 50 posts and lists, and the run's votes", a.counts)
	}
	if a.counts["other"] != 0 {
		t.Fatalf("requests to unknown routes: %v", a.counts)
	}
}

func TestRunClosedLoopSuccess(t *testing.T) {
	a := &fakeAPI{}
	dial := startFake(t, a)
	// A minute is the bound on time; -max-requests ends the run first.
	code, out, errOut := runLoad(t, dial, "-scenario", "meta", "-mode", "closed", "-conns", "4", "-duration", "1m", "-max-requests", "50")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "result scenario=meta mode=closed requests=50 ok=50 errors=0 ") {
		t.Fatalf("want 50 good requests in the result line:\n%s", out)
	}
	if got := a.total(); got != 50 || a.counts["meta"] != 50 {
		t.Fatalf("server saw %v, want 50 metas", a.counts)
	}
}

func TestRunThresholdFailure(t *testing.T) {
	a := &fakeAPI{status: 501}
	dial := startFake(t, a)
	code, out, _ := runLoad(t, dial, "-scenario", "list", "-rate", "200", "-duration", "100ms")
	if code != exitThresholds {
		t.Fatalf("exit %d, want %d when every answer is 501\n%s", code, exitThresholds, out)
	}
	for _, want := range []string{"outcomes: 501=20", "FAIL http_req_failed rate<=0.001 (1.00000)", "FAIL checks rate>=0.999 (0.00000)", "errors=20 ", "pass=false"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRunSetupFailure(t *testing.T) {
	a := &fakeAPI{status: 501}
	dial := startFake(t, a)
	code, _, errOut := runLoad(t, dial, "-scenario", "writes", "-rate", "200", "-duration", "100ms")
	if code != 1 || !strings.Contains(errOut, "setup: GET /reviews/meta?product_id=") || !strings.Contains(errOut, "answered 501") {
		t.Fatalf("exit %d, stderr %q; want 1 and the failing setup request", code, errOut)
	}
	if got := a.total(); got != 1 {
		t.Fatalf("server saw %d requests, want setup to stop at the first", got)
	}
}

func TestRunUsageFailure(t *testing.T) {
	dialed := false
	dial := func(string) (net.Conn, error) { dialed = true; return nil, fmt.Errorf("no network in this test") }
	f := func(want string, args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), append([]string{"-scenarios", "../../k6/scenarios.json"}, args...), &stdout, &stderr, dial)
		if code != 2 || !strings.Contains(stderr.String(), want) {
			t.Fatalf("run(%q) = %d, stderr %q; want 2 and %q", args, code, stderr.String(), want)
		}
	}
	f("-scenario is required")
	f("not a loopback", "-scenario", "list", "-base-url", "http://10.0.0.1:3000")
	f("not a loopback", "-scenario", "list", "-base-url", "http://example.com")
	f(`no scenario "nope"`, "-scenario", "nope")
	f("-mode must be", "-scenario", "list", "-mode", "wild")
	f("-duration must be", "-scenario", "list", "-duration", "2h")
	f("-conns", "-scenario", "list", "-conns", "0")
	t.Setenv("ALLOW_NON_LOOPBACK", "true")
	f("not a loopback", "-scenario", "list", "-base-url", "http://10.0.0.1:3000")
	if dialed {
		t.Fatal("a refused run connected anyway")
	}
}

// The guard is lifted by the flag alone; the dialer here is a stub, so the
// run reaches no network and every request fails.
func TestRunAllowNonLoopbackSuccess(t *testing.T) {
	var dialed []string
	var mu sync.Mutex
	dial := func(addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		return nil, fmt.Errorf("no network in this test")
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-scenarios", "../../k6/scenarios.json", "-scenario", "list",
		"-base-url", "http://10.0.0.1:3000", "-products", "1000", "-rate", "20", "-duration", "100ms", "-allow-non-loopback"}, &stdout, &stderr, dial)
	if code != exitThresholds || len(dialed) == 0 || dialed[0] != "10.0.0.1:3000" {
		t.Fatalf("exit %d, dialed %v; want %d and the stub dialed\n%s%s", code, dialed, exitThresholds, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "requests 2 ") || !strings.Contains(stdout.String(), "no network in this test=2") {
		t.Fatalf("want 2 failed requests:\n%s", stdout.String())
	}
}

// -warm reads every hot product once per cache key of the mix before the
// measured run, uncounted: shop's reads over 1,000 products have a hot set
// of 50, four keys each (three sorts and meta).
func TestRunWarmSuccess(t *testing.T) {
	a := &fakeAPI{}
	dial := startFake(t, a)
	code, out, errOut := runLoad(t, dial, "-scenario", "shop", "-ops", "list,meta", "-warm", "-rate", "400", "-duration", "250ms", "-p99", "10s")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "warm-up: read the 50 hot products' 200 cache keys in ") {
		t.Fatalf("no warm-up line:\n%s", out)
	}
	if !strings.Contains(out, "result scenario=shop mode=open requests=100 ok=100 errors=0 ") {
		t.Fatalf("the warm-up counted in the run:\n%s", out)
	}
	if got := a.total(); got != 300 {
		t.Fatalf("server saw %d requests %v, want 200 warm-up reads and 100 measured", got, a.counts)
	}
}

// A warm-up read that fails stops the run before it starts.
func TestRunWarmFailure(t *testing.T) {
	a := &fakeAPI{status: 503}
	dial := startFake(t, a)
	code, out, errOut := runLoad(t, dial, "-scenario", "shop", "-ops", "list,meta", "-warm", "-rate", "400", "-duration", "250ms")
	if code != 1 || !strings.Contains(errOut, "warm-up: GET /reviews") || !strings.Contains(errOut, "answered 503") {
		t.Fatalf("exit %d, want 1 and the failing warm-up read\n%s\n%s", code, out, errOut)
	}
}

// -reviews votes on the given ids without asking the service for any: the
// fixed-body yardstick has no data to sample.
func TestRunReviewsSuccess(t *testing.T) {
	a := &fakeAPI{}
	dial := startFake(t, a)
	var mu sync.Mutex
	seen := map[string]bool{}
	a.onPath = func(path string) { mu.Lock(); seen[path] = true; mu.Unlock() }
	code, out, errOut := runLoad(t, dial, "-scenario", "writes", "-ops", "helpful", "-reviews", "5-7", "-mode", "closed", "-conns", "2", "-duration", "200ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	a.mu.Lock()
	counts := maps.Clone(a.counts)
	a.mu.Unlock()
	if counts["meta"] != 0 || counts["list"] != 0 || counts["helpful"] == 0 || len(counts) != 1 {
		t.Fatalf("routes %v; want votes only, no setup reads", counts)
	}
	for path := range seen {
		if path != "/reviews/5/helpful" && path != "/reviews/6/helpful" && path != "/reviews/7/helpful" {
			t.Fatalf("voted at %s, outside -reviews 5-7", path)
		}
	}
}

func TestRunReviewsFailure(t *testing.T) {
	dial := func(string) (net.Conn, error) { return nil, fmt.Errorf("no network in this test") }
	f := func(want string, args ...string) {
		t.Helper()
		code, _, errOut := runLoad(t, dial, append([]string{"-duration", "100ms"}, args...)...)
		if code != 2 || !strings.Contains(errOut, want) {
			t.Fatalf("run(%q) = %d, stderr %q; want 2 and %q", args, code, errOut, want)
		}
	}
	f("the mix has post", "-scenario", "writes", "-reviews", "1-10")
	f("want LO-HI", "-scenario", "writes", "-ops", "helpful", "-reviews", "10-1")
	f("want LO-HI", "-scenario", "writes", "-ops", "helpful", "-reviews", "x")
}
