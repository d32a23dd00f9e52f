package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catwalk/reviews/testnet"
)

// TestNginxOperations: the operations routes and NGINX's own answers,
// through NGINX in front of three catwalk instances.
func TestNginxOperations(t *testing.T) {
	const token = "loaderio-0123456789abcdef0123456789abcdef"
	c := startCluster(t, "LOADERIO_TOKEN="+token)

	f := func(method, path, body string, wantStatus int, wantType, wantBody string) {
		t.Helper()
		r := do(t, method, c.Nginx.URL(path), body, "Content-Type", "application/json")
		if r.Status != wantStatus {
			t.Errorf("%s %s: status %d, want %d (body %q)", method, path, r.Status, wantStatus, r.Body)
		}
		if got := r.Header.Get("Content-Type"); got != wantType {
			t.Errorf("%s %s: Content-Type %q, want %q", method, path, got, wantType)
		}
		if wantBody != "" && r.Body != wantBody {
			t.Errorf("%s %s: body %q, want %q", method, path, r.Body, wantBody)
		}
	}
	const jsonType = "application/json; charset=utf-8"
	f("GET", "/healthz", "", 200, jsonType, `{"status":"ok"}`)
	f("GET", "/readyz", "", 200, jsonType, `{"status":"ok"}`)
	f("GET", "/"+token+"/", "", 200, "text/plain; charset=utf-8", token)
	f("GET", "/"+token+".txt", "", 200, "text/plain; charset=utf-8", token)
	f("GET", "/no/such/route", "", 404, jsonType, `{"error":"no such route"}`)
	// NGINX refuses a body over 64 KiB itself, in the API's error shape,
	// and so an overlong header.
	f("POST", "/reviews", strings.Repeat("x", 64<<10+1), 413, jsonType, `{"error":"request body too large"}`)
	if r := do(t, "GET", c.Nginx.URL("/healthz"), "", "X-Big", strings.Repeat("x", 9000)); r.Status != 431 || r.Body != `{"error":"request headers too large"}` {
		t.Errorf("GET with a 9000-byte header: %d %q, want 431 JSON", r.Status, r.Body)
	}

	m := do(t, "GET", c.Nginx.URL("/metrics"), "")
	if m.Status != 200 || !strings.HasPrefix(m.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %q", m.Status, m.Header.Get("Content-Type"))
	}
	if _, ok := metricValue(m.Body, `catwalk_http_requests_total{route="/healthz",method="GET",status="200"}`); !ok {
		// The scrape may land on an instance that has not served /healthz
		// yet; it must still expose the fixed series.
		if _, ok := metricValue(m.Body, "catwalk_listener_reconnects_total"); !ok {
			t.Errorf("GET /metrics through NGINX lacks catwalk series:\n%s", m.Body)
		}
	}

	// Requests without a product (hashed on the random request id) spread
	// over all three instances.
	for range 30 {
		if r := do(t, "GET", c.Nginx.URL("/healthz"), ""); r.Status != 200 {
			t.Fatalf("GET /healthz: %d", r.Status)
		}
	}
	for i, in := range c.Instances {
		body := do(t, "GET", in.URL("/metrics"), "").Body
		n, _ := metricValue(body, `catwalk_http_requests_total{route="/healthz",method="GET",status="200"}`)
		// Each instance also answered the harness's own start-up probe.
		if n < 2 {
			t.Errorf("instance %d served %v GET /healthz, want some of the 30 sent through NGINX", i+1, n)
		}
	}
}

// fakeUpstream stands in for an instance to pin down NGINX's behaviour:
// with fail set it reads each request and closes the connection without
// answering (an instance dying mid-request); otherwise it answers body.
type fakeUpstream struct {
	fail  bool
	body  []byte
	conns atomic.Int64
	mu    sync.Mutex
	hits  map[string]int // by method
	keys  []string       // the Idempotency-Key of each request, in order
	srv   *http.Server
	addr  string
}

func startFake(t *testing.T, fail bool, body []byte) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{fail: fail, body: body, hits: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = ln.Addr().String()
	u.srv = &http.Server{
		Handler: http.HandlerFunc(u.serve),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				u.conns.Add(1)
			}
		},
	}
	go u.srv.Serve(ln)
	t.Cleanup(func() { u.srv.Close() })
	return u
}

func (u *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	u.mu.Lock()
	u.hits[r.Method]++
	u.keys = append(u.keys, r.Header.Get("Idempotency-Key"))
	u.mu.Unlock()
	if u.fail {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(u.body)
}

func (u *fakeUpstream) Hits(method string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[method]
}

// deadAddr is a loopback address nothing listens on (a stopped instance).
func deadAddr(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(testnet.FreePort(t))
}

// TestNginxRetrySuccess: a request an instance could not even receive
// (connection refused) goes to the next instance, whatever its method.
func TestNginxRetrySuccess(t *testing.T) {
	good1 := startFake(t, false, []byte(`{"ok":1}`))
	good2 := startFake(t, false, []byte(`{"ok":2}`))
	p := startNginx(t, []string{deadAddr(t), good1.addr, good2.addr})
	f := func(method, path, body string) {
		t.Helper()
		for range 6 {
			if r := do(t, method, p.URL(path), body, "Content-Type", "application/json"); r.Status != 200 {
				t.Errorf("%s %s with one instance down: %d %q, want 200", method, path, r.Status, r.Body)
			}
		}
	}
	f("GET", "/reviews?product_id=1", "")
	f("POST", "/reviews", `{"product_id":1}`)
	f("PUT", "/reviews/1/helpful", "")
	f("PUT", "/reviews/1/report", "")
}

// TestNginxRetryFailure: when an instance fails after receiving the
// request, idempotent requests are retried on the next instance (at most
// three tries in all), a POST never is, and neither is a timed-out
// helpful vote; NGINX then answers 503 in the API's error shape, saying
// whether a write may have been applied.
func TestNginxRetryFailure(t *testing.T) {
	const (
		unavailable = `{"error":"service unavailable, retry shortly"}`
		mayHave     = `{"error":"service unavailable; this write may have been applied: retry it with the same Idempotency-Key"}`
	)
	f := func(method, path string, wantTries int) {
		t.Helper()
		// A fresh NGINX per case: passive failure detection must not carry
		// over between cases.
		ups := []*fakeUpstream{startFake(t, true, nil), startFake(t, true, nil), startFake(t, true, nil)}
		p := startNginx(t, []string{ups[0].addr, ups[1].addr, ups[2].addr})
		body := ""
		if method == "POST" {
			body = `{"product_id":1}`
		}
		// A write that reached an instance may have been applied there.
		want := unavailable
		if method != "GET" {
			want = mayHave
		}
		r := do(t, method, p.URL(path), body, "Content-Type", "application/json")
		if r.Status != 503 || r.Body != want || r.Header.Get("Retry-After") != "1" {
			t.Errorf("%s %s: %d %q Retry-After %q, want 503 %s with Retry-After", method, path, r.Status, r.Body, r.Header.Get("Retry-After"), want)
		}
		tries := 0
		for _, u := range ups {
			tries += u.Hits(method)
		}
		if tries != wantTries {
			t.Errorf("%s %s reached instances %d times, want %d", method, path, tries, wantTries)
		}
	}
	f("GET", "/reviews?product_id=1", 3)
	f("GET", "/reviews/meta?product_id=1", 3)
	f("PUT", "/reviews/1/report", 3)
	// A connection error after sending is retried for helpful too (see
	// nginx.conf); a timeout would not be.
	f("PUT", "/reviews/1/helpful", 3)
	f("POST", "/reviews", 1)

	// A write that reached no instance was not applied, and NGINX says
	// only that the service is unavailable.
	p := startNginx(t, []string{deadAddr(t), deadAddr(t), deadAddr(t)})
	for _, m := range []string{"POST", "PUT"} {
		path := "/reviews"
		if m == "PUT" {
			path = "/reviews/1/helpful"
		}
		if r := do(t, m, p.URL(path), `{}`, "Content-Type", "application/json"); r.Status != 503 || r.Body != unavailable {
			t.Errorf("%s %s, every instance refusing connections: %d %q, want 503 %s", m, path, r.Status, r.Body, unavailable)
		}
	}
}

// TestNginxHelpfulRetryKey: a helpful vote that reached an instance which
// then dropped the connection without answering may have been counted, so
// NGINX's retry on the next instance carries the Idempotency-Key of the
// first attempt (the client's, or one NGINX made for this client request),
// and the instance that receives the retry answers it without counting it
// again. Each client request gets a key of its own.
func TestNginxHelpfulRetryKey(t *testing.T) {
	// attempts sends one PUT and returns the keys of the attempts it took.
	// A fresh NGINX each time: after three failures of every instance
	// (max_fails) NGINX would not try them at all.
	attempts := func(header ...string) []string {
		t.Helper()
		ups := []*fakeUpstream{startFake(t, true, nil), startFake(t, true, nil), startFake(t, true, nil)}
		p := startNginx(t, []string{ups[0].addr, ups[1].addr, ups[2].addr})
		r := do(t, "PUT", p.URL("/reviews/1/helpful"), "", header...)
		if r.Status != 503 || r.Header.Get("Retry-After") == "" {
			t.Errorf("PUT helpful, every instance dropping it: %d %q, want 503 with Retry-After", r.Status, r.Body)
		}
		var keys []string
		for _, u := range ups {
			u.mu.Lock()
			keys = append(keys, u.keys...)
			u.mu.Unlock()
		}
		return keys
	}
	sameKey := func(keys []string) string {
		t.Helper()
		if len(keys) != 3 {
			t.Fatalf("the vote reached instances %d times, want 3 (one try per instance)", len(keys))
		}
		for _, k := range keys[1:] {
			if k != keys[0] {
				t.Errorf("retries carry Idempotency-Key %q, the first attempt %q: a vote could count twice", k, keys[0])
			}
		}
		return keys[0]
	}

	k1 := sameKey(attempts())
	if !strings.HasPrefix(k1, "nginx-") || len(k1) != len("nginx-")+32 {
		t.Errorf("a vote without a key was sent with Idempotency-Key %q, want nginx-<request id>", k1)
	}
	if k2 := sameKey(attempts()); k2 == k1 {
		t.Errorf("two client requests got the same Idempotency-Key %q: the second vote would not count", k1)
	}
	// An empty header counts as absent (as on the instance).
	if k := sameKey(attempts("Idempotency-Key", "")); !strings.HasPrefix(k, "nginx-") {
		t.Errorf("a vote with an empty key was sent with Idempotency-Key %q, want nginx-<request id>", k)
	}
	if k := sameKey(attempts("Idempotency-Key", "client-key-1")); k != "client-key-1" {
		t.Errorf("the client's Idempotency-Key reached the instance as %q", k)
	}

	// Other routes pass the client's key as it came, and add none.
	good := startFake(t, false, []byte(`{}`))
	p2 := startNginx(t, []string{good.addr, good.addr, good.addr})
	do(t, "POST", p2.URL("/reviews"), `{}`, "Content-Type", "application/json", "Idempotency-Key", "post-key")
	do(t, "PUT", p2.URL("/reviews/1/report"), "")
	do(t, "GET", p2.URL("/reviews?product_id=1"), "")
	good.mu.Lock()
	got := append([]string(nil), good.keys...)
	good.mu.Unlock()
	if want := []string{"post-key", "", ""}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Idempotency-Key on POST, report and GET reached the instance as %q, want %q", got, want)
	}
}

// TestNginxKeepaliveGzip: NGINX reuses HTTP/1.1 connections to the
// instances and gzips JSON for clients that accept it.
func TestNginxKeepaliveGzip(t *testing.T) {
	body := []byte(`{"results":[` + strings.Repeat(`{"review_id":1,"body":"a fine review body"},`, 100) + `{}]}`)
	ups := []*fakeUpstream{startFake(t, false, body), startFake(t, false, body), startFake(t, false, body)}
	p := startNginx(t, []string{ups[0].addr, ups[1].addr, ups[2].addr})

	const n = 60
	for range n {
		r := do(t, "GET", p.URL("/reviews?product_id=1"), "", "Accept-Encoding", "gzip")
		if r.Status != 200 {
			t.Fatalf("status %d", r.Status)
		}
		if r.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("JSON of %d bytes not gzipped: %v", len(body), r.Header)
		}
		zr, err := gzip.NewReader(strings.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("gunzipped body differs (err %v)", err)
		}
	}
	if r := do(t, "GET", p.URL("/reviews?product_id=1"), ""); r.Header.Get("Content-Encoding") != "" || r.Body != string(body) {
		t.Errorf("client without Accept-Encoding got Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	var conns int64
	for _, u := range ups {
		conns += u.conns.Load()
	}
	// Sequential requests need one connection per instance when reused.
	if conns > 3*2 {
		t.Errorf("NGINX opened %d upstream connections for %d sequential requests: keepalive not used", conns, n+1)
	}
}

// TestSIGTERMUnderLoad: SIGTERM to one instance of three under steady load
// through NGINX loses no request, and the instance exits cleanly after
// finishing its in-flight requests.
func TestSIGTERMUnderLoad(t *testing.T) {
	c := startCluster(t, "DRAIN_DELAY=300ms", "SHUTDOWN_TIMEOUT=5s")
	victim := c.Instances[0]

	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg       sync.WaitGroup
		ok, bad  atomic.Int64
		mu       sync.Mutex
		failures []string
	)
	paths := []string{"/healthz", "/readyz", "/healthz", "/no/such/route"}
	want := map[string]int{"/healthz": 200, "/readyz": 200, "/no/such/route": 404}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				path := paths[(w+i)%len(paths)]
				resp, err := client.Get(c.Nginx.URL(path))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				switch {
				case err == nil && resp.StatusCode == want[path]:
					ok.Add(1)
				default:
					bad.Add(1)
					mu.Lock()
					if err != nil {
						failures = append(failures, path+": "+err.Error())
					} else {
						failures = append(failures, path+": status "+strconv.Itoa(resp.StatusCode))
					}
					mu.Unlock()
				}
			}
		}()
	}
	// Load until the victim has surely served some of it, then stop it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _ := metricValue(do(t, "GET", victim.URL("/metrics"), "").Body, `catwalk_http_requests_total{route="/healthz",method="GET",status="200"}`)
		if n >= 50 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			wg.Wait()
			t.Fatalf("the victim served %v requests in 10s of load", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := ok.Load()
	stopErr := make(chan error, 1)
	go func() { stopErr <- victim.Stop(t) }()
	var exitErr error
	select {
	case exitErr = <-stopErr:
	case <-time.After(20 * time.Second):
		t.Fatal("the instance did not exit within 20s of SIGTERM")
	}
	time.Sleep(500 * time.Millisecond) // load continues on the other two
	cancel()
	wg.Wait()

	if exitErr != nil {
		t.Errorf("instance exited with %v after SIGTERM, want status 0\n%s", exitErr, victim.out.String())
	}
	if !strings.Contains(victim.out.String(), "in-flight requests finished") {
		t.Errorf("instance log lacks the clean shutdown line:\n%s", victim.out.String())
	}
	if n := bad.Load(); n != 0 {
		t.Errorf("%d of %d requests failed around SIGTERM, want none; first: %v", n, n+ok.Load(), failures[:min(5, len(failures))])
	}
	if after := ok.Load() - before; after < 50 {
		t.Errorf("only %d requests succeeded after SIGTERM: load did not continue", after)
	}
	t.Logf("%d requests, none lost; victim log:\n%s", ok.Load(), victim.out.String())
}

// seriesByInstance reads one metric series from each instance of c.
func seriesByInstance(t *testing.T, c *cluster, series string) []float64 {
	t.Helper()
	out := make([]float64, len(c.Instances))
	for i, in := range c.Instances {
		out[i], _ = metricValue(do(t, "GET", in.URL("/metrics"), "").Body, series)
	}
	return out
}

// sendOnlyToOne runs send, which makes n requests through NGINX, and
// fails unless exactly one instance's series grew, by all n.
func sendOnlyToOne(t *testing.T, c *cluster, series, what string, n int, send func()) {
	t.Helper()
	before := seriesByInstance(t, c, series)
	send()
	after := seriesByInstance(t, c, series)
	served := 0
	for i := range after {
		switch d := after[i] - before[i]; d {
		case 0:
		case float64(n):
			served++
		default:
			t.Errorf("instance %d took %v of %s, want all %d or none", i+1, d, what, n)
		}
	}
	if served != 1 {
		t.Fatalf("%d instances took %s, want exactly 1 (%v → %v)", served, what, before, after)
	}
}

// TestNginxProductAffinity: NGINX sends every read of one product to one
// instance (hash on product_id), and different products to all three.
func TestNginxProductAffinity(t *testing.T) {
	c := startCluster(t)
	const route = `catwalk_http_requests_total{route="/reviews/meta",method="GET",status="200"}`
	sendOnlyToOne(t, c, route, "product 777's reads", 20, func() {
		for range 20 {
			if r := do(t, "GET", c.Nginx.URL("/reviews/meta?product_id=777"), ""); r.Status != 200 {
				t.Fatalf("GET meta: %d %s", r.Status, r.Body)
			}
		}
	})
	// Sixty products spread over all three.
	before := seriesByInstance(t, c, route)
	for p := range 60 {
		if r := do(t, "GET", c.Nginx.URL("/reviews/meta?product_id="+strconv.Itoa(1000+p)), ""); r.Status != 200 {
			t.Fatalf("GET meta: %d %s", r.Status, r.Body)
		}
	}
	after := seriesByInstance(t, c, route)
	for i := range after {
		if after[i] == before[i] {
			t.Errorf("instance %d served none of 60 products (%v → %v)", i+1, before, after)
		}
	}
}

// TestNginxVoteAffinity: NGINX sends every helpful vote to one instance,
// whatever its review, so the votes in flight fold into that instance's
// batches (nginx.conf, $upstream_key).
func TestNginxVoteAffinity(t *testing.T) {
	c := startCluster(t)
	const route = `catwalk_http_requests_total{route="/reviews/{review_id}/helpful",method="PUT",status="404"}`
	// Reviews that do not exist: a vote on one changes nothing and is
	// answered 404 by the instance it reached.
	sendOnlyToOne(t, c, route, "the votes on 30 reviews", 30, func() {
		for i := range 30 {
			if r := do(t, "PUT", c.Nginx.URL("/reviews/"+strconv.Itoa(2147480000+i)+"/helpful"), ""); r.Status != 404 {
				t.Fatalf("PUT helpful: %d %s", r.Status, r.Body)
			}
		}
	})
}
